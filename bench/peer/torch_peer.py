"""PyTorch side of `npm run bench:peer` (bench/peer.bench.ts): the same networks as PocketBench,
rebuilt from the TF.js layer graph PocketBench sends (class, config, inbound layers, shapes and the
weights), so both sides run the same architecture with the same weights. Runs under Debian's
python3-torch (`/usr/bin/python3`).

Protocol: one JSON object per line on stdin, one reply per line on stdout prefixed with "@@ ".
  {"cmd": "model", "id": "teacher", "layers": [...], "weights": {name: [shape, base64 float32]}}
  {"cmd": "forward", "id": "teacher", "shape": [n, h, w, c], "x": base64}   -> {"y": base64, "shape": [...]}
  {"cmd": "row", "kind": "train" | "kd", "student": id, "teacher": id | null, "batch": B,
   "studentInput": [h, w, c], "teacherInput": [h, w, c] | null, "classes": K, "temperature": T, "alpha": a}
  {"cmd": "steps", "n": N}  -> {"ms": [per-step wall times]}
  {"cmd": "threads", "n": N} -> torch.set_num_threads(N)
  {"cmd": "quit"}
Data are seeded random images (throughput does not depend on pixels); labels are random classes.
"""
import base64
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def reply(obj):
    sys.stdout.write("@@ " + json.dumps(obj) + "\n")
    sys.stdout.flush()


def same_pads(n, k, s, d=1):
    """TensorFlow's 'same' padding along one axis: (before, after); the extra pixel goes after."""
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def pair(v):
    return list(v) if isinstance(v, (list, tuple)) else [v, v]


def activation(name):
    if name in (None, "linear"):
        return lambda x: x
    if name == "relu":
        return F.relu
    if name == "relu6":
        return F.relu6
    if name == "softmax":
        return lambda x: F.softmax(x, dim=1)
    if name == "sigmoid":
        return torch.sigmoid
    raise ValueError(f"activation {name} is not supported by the PyTorch peer")


class Node(nn.Module):
    """One TF.js layer: `fn(inputs)` on NCHW tensors (2-D for dense)."""

    def __init__(self, spec):
        super().__init__()
        self.name = spec["name"]
        self.cls = spec["className"]
        self.inbound = spec["inbound"]
        cfg = spec["config"]
        in_shapes = spec["inShapes"]
        cls = self.cls
        self.pad = None  # F.pad argument (left, right, top, bottom) when TF pads asymmetrically
        self.act = lambda x: x
        if cls in ("Conv2D", "DepthwiseConv2D"):
            _, h, w, cin = in_shapes[0]
            kh, kw = pair(cfg["kernelSize"])
            sh, sw = pair(cfg["strides"])
            dh, dw = pair(cfg.get("dilationRate", 1))
            pads = (0, 0, 0, 0)
            if cfg["padding"] == "same":
                t, b = same_pads(h, kh, sh, dh)
                l, r = same_pads(w, kw, sw, dw)
                pads = (l, r, t, b)
            sym = pads[0] == pads[1] and pads[2] == pads[3]
            if not sym:
                self.pad = pads
            if cls == "Conv2D":
                cout, groups = cfg["filters"], 1
            else:
                cout, groups = cin * cfg.get("depthMultiplier", 1), cin
            self.op = nn.Conv2d(cin, cout, (kh, kw), (sh, sw), padding=(pads[2], pads[0]) if sym else 0,
                                dilation=(dh, dw), groups=groups, bias=cfg.get("useBias", True))
            self.act = activation(cfg.get("activation"))
        elif cls == "Dense":
            self.op = nn.Linear(in_shapes[0][-1], cfg["units"], bias=cfg.get("useBias", True))
            self.act = activation(cfg.get("activation"))
        elif cls == "BatchNormalization":
            c = in_shapes[0][-1]
            bn = nn.BatchNorm2d if len(in_shapes[0]) == 4 else nn.BatchNorm1d
            # Keras' momentum weighs the old statistic, PyTorch's the new one.
            self.op = bn(c, eps=cfg["epsilon"], momentum=1 - cfg["momentum"])
        elif cls in ("ReLU", "Activation", "Softmax"):
            if cls == "ReLU":
                mx = cfg.get("maxValue")
                if cfg.get("negativeSlope", 0) or cfg.get("threshold", 0):
                    raise ValueError("ReLU with a slope or threshold is not supported by the PyTorch peer")
                self.op = F.relu6 if mx == 6 else (F.relu if mx is None else (lambda x, m=mx: torch.clamp(x, 0, m)))
            elif cls == "Softmax":
                self.op = lambda x: F.softmax(x, dim=1)
            else:
                self.op = activation(cfg["activation"])
        elif cls == "ZeroPadding2D":
            (t, b), (l, r) = cfg["padding"]
            self.op = lambda x, p=(l, r, t, b): F.pad(x, p)
        elif cls == "MaxPooling2D":
            _, h, w, _ = in_shapes[0]
            k, s = pair(cfg["poolSize"]), pair(cfg["strides"] or cfg["poolSize"])
            if cfg["padding"] == "same":
                t, b = same_pads(h, k[0], s[0])
                l, r = same_pads(w, k[1], s[1])
                self.pad = (l, r, t, b)
            self.op = nn.MaxPool2d(k, s)
        elif cls == "GlobalAveragePooling2D":
            self.op = lambda x: x.mean((2, 3))
        elif cls == "Flatten":
            # TF.js flattens NHWC: the same order here.
            self.op = lambda x: x.permute(0, 2, 3, 1).flatten(1) if x.dim() == 4 else x.flatten(1)
        elif cls == "Dropout":
            self.op = nn.Dropout(cfg["rate"])
        elif cls == "Add":
            self.op = None
        elif cls == "InputLayer":
            self.op = lambda x: x
        elif cls == "Rescaling":
            self.op = lambda x, s=cfg["scale"], o=cfg["offset"]: x * s + o
        else:
            raise ValueError(f"layer {cls} ({self.name}) is not supported by the PyTorch peer")

    def forward(self, xs):
        if self.cls == "Add":
            y = xs[0]
            for x in xs[1:]:
                y = y + x
            return y
        x = xs[0]
        if self.pad is not None:
            x = F.pad(x, self.pad, value=float("-inf") if self.cls == "MaxPooling2D" else 0.0)
        return self.act(self.op(x))

    def load(self, weights):
        """Weights in TF.js order and layout (NHWC kernels) into PyTorch's."""
        def w(suffix):
            for name, value in weights.items():
                if name.endswith("/" + suffix):
                    return value
            raise KeyError(f"{self.name}: no weight {suffix}")
        with torch.no_grad():
            if self.cls == "Conv2D":
                self.op.weight.copy_(w("kernel").permute(3, 2, 0, 1))
            elif self.cls == "DepthwiseConv2D":
                k = w("depthwise_kernel")  # [kh, kw, cin, mult] -> [cin*mult, 1, kh, kw]
                kh, kw, cin, m = k.shape
                self.op.weight.copy_(k.reshape(kh, kw, cin * m).permute(2, 0, 1).unsqueeze(1))
            elif self.cls == "Dense":
                self.op.weight.copy_(w("kernel").t())
            elif self.cls == "BatchNormalization":
                self.op.weight.copy_(w("gamma"))
                self.op.bias.copy_(w("beta"))
                self.op.running_mean.copy_(w("moving_mean"))
                self.op.running_var.copy_(w("moving_variance"))
                return
            if getattr(self.op, "bias", None) is not None:
                self.op.bias.copy_(w("bias"))


class Graph(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.nodes = nn.ModuleList(Node(s) for s in layers)
        self.output = layers[-1]["name"]

    def forward(self, x):
        vals = {}
        for n in self.nodes:
            vals[n.name] = n([vals[i] for i in n.inbound] if n.inbound else [x])
        return vals[self.output]


def decode(shape, b64):
    return torch.frombuffer(bytearray(base64.b64decode(b64)), dtype=torch.float32).reshape(shape).clone()


models = {}
row = None


def make_row(msg):
    g = torch.Generator().manual_seed(7)
    b = msg["batch"]
    student = models[msg["student"]]
    student.train()
    h, w, c = msg["studentInput"]
    xs = torch.rand(b, c, h, w, generator=g)
    ys = torch.randint(0, msg["classes"], (b,), generator=g)
    opt = torch.optim.Adam(student.parameters(), lr=1e-3)
    teacher = models.get(msg.get("teacher") or "")
    if teacher is not None:
        teacher.eval()
        th, tw, tc = msg["teacherInput"]
        txs = torch.rand(b, tc, th, tw, generator=g)
    T, alpha = msg.get("temperature", 4.0), msg.get("alpha", 0.5)

    def step():
        opt.zero_grad(set_to_none=True)
        s = student(xs)
        if teacher is None:
            loss = F.cross_entropy(s, ys)
        else:
            with torch.no_grad():
                t = teacher(txs)
            kl = F.kl_div(F.log_softmax(s / T, 1), F.log_softmax(t / T, 1), reduction="batchmean", log_target=True)
            loss = alpha * T * T * kl + (1 - alpha) * F.cross_entropy(s, ys)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def main():
    global row
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    reply({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads(),
           "mkldnn": torch.backends.mkldnn.is_available()})
    for line in sys.stdin:
        msg = json.loads(line)
        try:
            cmd = msg["cmd"]
            if cmd == "model":
                m = Graph(msg["layers"])
                weights = {k: decode(s, v) for k, (s, v) in msg["weights"].items()}
                for n in m.nodes:
                    mine = {k: v for k, v in weights.items() if k.startswith(n.name + "/")}
                    if mine:
                        n.load(mine)
                models[msg["id"]] = m
                reply({"params": sum(p.numel() for p in m.parameters())})
            elif cmd == "forward":
                m = models[msg["id"]]
                m.eval()
                with torch.no_grad():
                    y = m(decode(msg["shape"], msg["x"]).permute(0, 3, 1, 2).contiguous())
                if y.dim() == 4:
                    y = y.permute(0, 2, 3, 1)
                y = y.contiguous()
                reply({"y": base64.b64encode(y.numpy().tobytes()).decode(), "shape": list(y.shape)})
            elif cmd == "row":
                row = make_row(msg)
                reply({"ok": True})
            elif cmd == "steps":
                ms, losses = [], []
                for _ in range(msg["n"]):
                    t0 = time.perf_counter()
                    losses.append(row())
                    ms.append((time.perf_counter() - t0) * 1000)
                reply({"ms": ms, "loss": losses[-1], "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
            elif cmd == "threads":
                torch.set_num_threads(msg["n"])
                reply({"threads": torch.get_num_threads()})
            elif cmd == "quit":
                reply({"bye": True})
                return
            else:
                raise ValueError(f"unknown command {cmd}")
        except Exception as err:  # reported to the bench, which records it
            reply({"error": f"{type(err).__name__}: {err}"})


if __name__ == "__main__":
    main()
