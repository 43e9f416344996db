// The second tus client of the benchmark: tus-js-client (the official JavaScript client) in Node.
// Usage: node tus_client.mjs <endpoint> <file> <chunk size> <headers JSON> <metadata JSON>
// Prints the upload's seconds (from the first request to the last answer) on stdout.
import fs from "node:fs";
import { Upload } from "tus-js-client";

const [endpoint, file, chunkSize, headers, metadata] = process.argv.slice(2);
const started = process.hrtime.bigint();
const upload = new Upload(fs.createReadStream(file), {
  endpoint,
  chunkSize: Number(chunkSize),
  headers: JSON.parse(headers),
  metadata: JSON.parse(metadata),
  retryDelays: null, // a failure is a failed run, never a silent retry
  storeFingerprintForResuming: false,
  onError(error) {
    console.error(`tus-js-client failed: ${error}`);
    process.exit(1);
  },
  onSuccess() {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (upload._offset !== fs.statSync(file).size) {
      console.error(`tus-js-client stopped at ${upload._offset}`);
      process.exit(1);
    }
    console.log(seconds.toFixed(6));
  },
});
upload.start();
