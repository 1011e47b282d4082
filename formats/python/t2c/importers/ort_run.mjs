// ort_run.mjs — run an ONNX model with ONNX Runtime (onnxruntime-node) on raw float32 inputs.
//
//   node ort_run.mjs MODEL.onnx INPUT.f32 N C H W OUTPUT.f32 [all|disabled]
//
// INPUT.f32 holds N images as float32 NCHW (native little-endian); OUTPUT.f32 receives the first
// output of each image as float32, concatenated. The optional last argument is ORT's
// graphOptimizationLevel ('all' fuses Q/DQ pairs into integer kernels; 'disabled' runs the float
// Q/DQ simulation). onnxruntime-node is found through NODE_PATH (e.g. /work/cache/ort/node_modules),
// installed outside the repository with `npm install --ignore-scripts onnxruntime-node`.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const ort = require("onnxruntime-node");

const [model, input, n, c, h, w, output, level = "all"] = process.argv.slice(2);
if (!output) {
  console.error("usage: node ort_run.mjs MODEL.onnx INPUT.f32 N C H W OUTPUT.f32 [all|disabled]");
  process.exit(2);
}
const dims = [Number(n), Number(c), Number(h), Number(w)];
const per = dims[1] * dims[2] * dims[3];
const buf = readFileSync(input);
if (buf.length !== dims[0] * per * 4) {
  console.error(`${input}: ${buf.length} bytes, expected ${dims[0] * per * 4}`);
  process.exit(1);
}
const all = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
const session = await ort.InferenceSession.create(model, {
  graphOptimizationLevel: level, intraOpNumThreads: 1, interOpNumThreads: 1,
});
const inName = session.inputNames[0];
const outName = session.outputNames[0];
const chunks = [];
for (let i = 0; i < dims[0]; i++) {
  const x = new ort.Tensor("float32", all.slice(i * per, (i + 1) * per), [1, dims[1], dims[2], dims[3]]);
  const res = await session.run({ [inName]: x });
  chunks.push(Buffer.from(new Float32Array(res[outName].data).buffer));
}
writeFileSync(output, Buffer.concat(chunks));
console.error(`ort_run: ${dims[0]} images, ${session.inputNames[0]} -> ${outName}, optimization '${level}'`);
