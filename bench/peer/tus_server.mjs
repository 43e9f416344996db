// The peer: the official Node tus server (@tus/server) with the file store or the S3 store.
// Usage: node tus_server.mjs <port> file <directory>
//        node tus_server.mjs <port> s3 <endpoint> <bucket> <access key> <secret key> <part size>
import http from "node:http";
import { Server } from "@tus/server";
import { FileStore } from "@tus/file-store";
import { S3Store } from "@tus/s3-store";

const [port, kind, ...rest] = process.argv.slice(2);
let datastore;
if (kind === "file") {
  datastore = new FileStore({ directory: rest[0] });
} else if (kind === "s3") {
  const [endpoint, bucket, accessKeyId, secretAccessKey, partSize] = rest;
  datastore = new S3Store({
    partSize: Number(partSize),
    s3ClientConfig: {
      bucket,
      region: "us-east-1",
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
    },
  });
} else {
  console.error(`unknown store ${kind}`);
  process.exit(2);
}
const server = new Server({ path: "/files", datastore, maxSize: 8 * 1024 * 1024 * 1024 });
http
  .createServer((req, res) => server.handle(req, res))
  .listen(Number(port), "127.0.0.1", () => console.log(`tus peer (${kind}) on ${port}`));
