// Usage: node client.js HOST:PORT LOGIN MISSING_LOGIN
// Prints one JSON object: a GetUser answer and the decoded rich error of a NOT_FOUND.
'use strict';
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

const root = path.resolve(__dirname, '../../../..');
const includeDirs = [path.join(root, 'protos'), path.join(root, 'third_party/googleapis')];
const definition = protoLoader.loadSync('mt5gateway/v1/user_service.proto', {
  includeDirs, keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
});
const v1 = grpc.loadPackageDefinition(definition).mt5gateway.v1;

function decodeStatus(err) {
  const raw = err.metadata.get('grpc-status-details-bin')[0];
  if (!raw) return null;
  const rpc = new protobuf.Root();
  rpc.resolvePath = (_origin, target) => {
    for (const dir of includeDirs) {
      const candidate = path.join(dir, target);
      try { require('fs').accessSync(candidate); return candidate; } catch (_) { /* next */ }
    }
    return target;
  };
  rpc.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
  const Status = rpc.lookupType('google.rpc.Status');
  const ErrorInfo = rpc.lookupType('google.rpc.ErrorInfo');
  const status = Status.decode(raw);
  const infos = status.details
    .filter((d) => d.type_url.endsWith('google.rpc.ErrorInfo'))
    .map((d) => ErrorInfo.toObject(ErrorInfo.decode(d.value)));
  return { code: status.code, message: status.message, errorInfo: infos };
}

function call(client, method, request) {
  return new Promise((resolve) => {
    client[method](request, { deadline: Date.now() + 10000 }, (err, reply) => {
      resolve(err ? { error: { code: err.code, details: err.details, status: decodeStatus(err) } } : { reply });
    });
  });
}

async function main() {
  const [target, login, missing] = process.argv.slice(2);
  const client = new v1.UserService(target, grpc.credentials.createInsecure());
  const ok = await call(client, 'GetUser', { login });
  const notFound = await call(client, 'GetUser', { login: missing });
  client.close();
  process.stdout.write(JSON.stringify({ ok, notFound }) + '\n');
}

main().catch((err) => { console.error(err); process.exit(1); });
