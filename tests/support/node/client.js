// A Node.js caller of the service, on @grpc/grpc-js and @grpc/proto-loader and the
// project's protos: one check-in and one leaderboard read, printed as one JSON line.
"use strict";
const path = require("path");
const grpc = require("@grpc/grpc-js");
const loader = require("@grpc/proto-loader");

const [address, token, userId, boardId, protos] = process.argv.slice(2);
const definition = loader.loadSync(
  ["engagement/v1/check_in.proto", "engagement/v1/leaderboard.proto"],
  { includeDirs: [path.resolve(protos)], keepCase: true, longs: String, defaults: true, oneofs: true },
);
const v1 = grpc.loadPackageDefinition(definition).engagement.v1;
const credentials = grpc.credentials.createInsecure();
const metadata = new grpc.Metadata();
metadata.set("authorization", `Bearer ${token}`);

function call(client, method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, metadata, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

(async () => {
  const checkIns = new v1.CheckInService(address, credentials);
  const boards = new v1.LeaderboardService(address, credentials);
  const checkIn = await call(checkIns, "CheckIn", { user_id: userId, timezone: "UTC" });
  const page = await call(boards, "GetLeaderboard", { board: { board_id: boardId }, page_size: 10 });
  let refused = null;
  try {
    await call(checkIns, "CheckIn", { user_id: "" });
  } catch (error) {
    refused = { code: error.code, details: error.details };
  }
  console.log(JSON.stringify({ checkIn, page, refused }));
  checkIns.close();
  boards.close();
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
