-- wrk script for bench/node.sh: one request, formatted once per connection.
-- Env: PHR_TOKEN (bearer token), PHR_PATH (path and query), PHR_BODY_FILE (a
-- file whose bytes are POSTed as application/octet-stream; unset: GET).
-- Non-2xx answers are counted by wrk ("Non-2xx or 3xx responses"); node.sh
-- fails on any.
local token = os.getenv("PHR_TOKEN")
local path = os.getenv("PHR_PATH")
local body_file = os.getenv("PHR_BODY_FILE")

if token == nil or path == nil then
  error("PHR_TOKEN and PHR_PATH are required")
end

wrk.path = path
wrk.headers["Authorization"] = "Bearer " .. token
if body_file ~= nil and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/octet-stream"
end
