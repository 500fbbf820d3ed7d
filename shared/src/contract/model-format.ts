/**
 * Which runtime a model file needs, told by its bytes: a TFLite flatbuffer carries the file
 * identifier "TFL3" at bytes 4..8; anything else is read as ONNX (which has no magic number). The
 * control plane inspects by it at push and the agent picks LiteRT or onnxruntime by it at load.
 */
export type ModelFormat = 'onnx' | 'tflite';

export const TFLITE_FILE_IDENTIFIER = 'TFL3';

export function modelFormatOf(bytes: Uint8Array): ModelFormat {
  return bytes.length >= 8 && String.fromCharCode(bytes[4]!, bytes[5]!, bytes[6]!, bytes[7]!) === TFLITE_FILE_IDENTIFIER ? 'tflite' : 'onnx';
}
