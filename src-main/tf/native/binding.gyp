{
  "targets": [
    {
      "target_name": "pocketbench_kernels",
      "sources": ["pool.cc", "gemm.cc", "convolution.cc", "depthwise.cc", "pooling.cc", "normalization.cc", "elementwise.cc", "optimizer.cc", "napi.cc"],
      "cflags_cc!": ["-fno-exceptions", "-O2", "-O0"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno", "-pthread"],
      "ldflags": ["-pthread"],
      "xcode_settings": {
        "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17"],
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES"
      },
      "msvs_settings": { "VCCLCompilerTool": { "Optimization": 2 } }
    }
  ]
}
