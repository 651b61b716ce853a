/** Reading serialized ONNX models in tests. */

/** Nodes of type `op` in a serialized model: op_type is field 4 of NodeProto (tag 0x22, then the length, then the name). */
export function opCount(model: Uint8Array, op: string): number {
  const bytes = Buffer.from(model.buffer, model.byteOffset, model.byteLength);
  const needle = Buffer.concat([Buffer.of(0x22, op.length), Buffer.from(op)]);
  let n = 0;
  for (let i = bytes.indexOf(needle); i >= 0; i = bytes.indexOf(needle, i + 1)) n++;
  return n;
}
