-- wrk script for bench/fhir_bench.mjs (LOADGEN=wrk): the same requests as
-- the node.js clients make, generated per request inside wrk's event loop.
-- Env: PHR_TOKEN (bearer token), FHIR_MODE (read | search | search-count |
-- create), FHIR_IDS (a file: first line the Patient numbers, second line the
-- Observation numbers, space-separated; Patient k is "bp<k>", Observation
-- "bo<k>"). Non-2xx answers are counted by wrk ("Non-2xx or 3xx
-- responses"); the driver reports them as errors.
local token = os.getenv("PHR_TOKEN")
local mode = os.getenv("FHIR_MODE")
local ids_file = os.getenv("FHIR_IDS")
if token == nil or mode == nil or ids_file == nil then
  error("PHR_TOKEN, FHIR_MODE and FHIR_IDS are required")
end

local function numbers(line)
  local t = {}
  for w in string.gmatch(line or "", "%d+") do t[#t + 1] = w end
  return t
end
local f = assert(io.open(ids_file, "r"))
local patients = numbers(f:read("*l"))
local observations = numbers(f:read("*l"))
f:close()
if #patients == 0 or #observations == 0 then error("FHIR_IDS has no ids") end

local codes = { "8867-4", "29463-7", "8480-6", "8462-4", "2339-0" }
-- the creates' codes: none of the searches' (the searches find the imported data alone)
local create_codes = { "8310-5", "9279-1", "8302-2", "39156-5", "85354-9" }
local headers = {
  ["Authorization"] = "Bearer " .. token,
  ["Accept"] = "application/fhir+json",
}
local post_headers = {
  ["Authorization"] = "Bearer " .. token,
  ["Content-Type"] = "application/fhir+json",
}

-- the request counter: a global, so that setup() can start each wrk thread at
-- its own offset (threads would otherwise repeat each other's requests)
k = 0
local next_thread = 0
function setup(thread)
  thread:set("k", next_thread * 1000003)
  next_thread = next_thread + 1
end

local function obs_body(i, pid)
  return string.format('{"resourceType":"Observation","status":"final",' ..
    '"code":{"coding":[{"system":"http://loinc.org","code":"%s"}]},' ..
    '"subject":{"reference":"Patient/bp%s"},"effectiveDateTime":"2024-01-%02d",' ..
    '"valueQuantity":{"value":%d,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}',
    create_codes[i % #create_codes + 1], pid, 1 + (i % 28), 50 + (i % 100))
end

function request()
  k = k + 1
  if mode == "read" then
    local o = observations[(k * 7919) % #observations + 1]
    return wrk.format("GET", "/fhir/Observation/bo" .. o, headers)
  elseif mode == "search" then
    local p = patients[(k * 31) % #patients + 1]
    return wrk.format("GET", "/fhir/Observation?patient=bp" .. p ..
      "&code=http://loinc.org|" .. codes[k % #codes + 1] .. "&_count=10", headers)
  elseif mode == "search-count" then
    return wrk.format("GET", "/fhir/Observation?code=" .. codes[k % #codes + 1] ..
      "&date=ge2024-01-10&_summary=count", headers)
  elseif mode == "create" then
    local p = patients[k % #patients + 1]
    return wrk.format("POST", "/fhir/Observation", post_headers, obs_body(k, p))
  end
  error("unknown FHIR_MODE " .. mode)
end
