/** `.tflite` export and the desktop TFLite runtime (LiteRT in WebAssembly). */
export { loadLiteRt, loadTfliteModel, liteRtHeapBytes, liteRtLog, liteRtWasmDir } from './litert-node';
export type { LiteRtArray, LiteRtDType, LiteRtInfo, LiteRtTensorInfo, TfliteModel } from './litert-node';
