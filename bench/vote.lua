-- wrk script for bench/vote.py: every request is the next voter in rotation, with that
-- voter's session cookie and CSRF token and a fresh submission id; the receipts of the
-- acknowledged votes are written to $VOTE_OUT when wrk is done.
--
-- $VOTE_CREDS: lines "cookie<TAB>csrf token"; $VOTE_ORIGIN: http://127.0.0.1:port;
-- $VOTE_FORM: non-empty to post the page's form (303) instead of the JSON API (201);
-- $VOTE_RUN: a number that keeps submission ids unique across runs (and wrk processes) on one
-- database; $VOTE_SLICES, $VOTE_SLICE_BASE: the voters are cut into that many slices, and
-- thread k of this wrk process starts at slice base + k - 1 (one wrk process per app instance).

local creds = {}
for line in io.lines(os.getenv("VOTE_CREDS")) do
  local cookie, token = line:match("^([^\t]+)\t([^\t]+)$")
  if cookie then creds[#creds + 1] = { cookie, token } end
end
local origin = os.getenv("VOTE_ORIGIN")
local form = (os.getenv("VOTE_FORM") or "") ~= ""
local run = tonumber(os.getenv("VOTE_RUN") or "0")
local slices = tonumber(os.getenv("VOTE_SLICES") or "2")
local slice_base = tonumber(os.getenv("VOTE_SLICE_BASE") or "0")
local options = { "yes", "no", "abstain" }

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  threads[#threads + 1] = thread
end

local counter = 0
local index = 0
acked = {}
failed = 0
sample = ""

function init(args)
  -- threads start at different voters; `id` was set by setup()
  index = (slice_base + id - 1) * math.floor(#creds / slices)
end

function request()
  counter = counter + 1
  index = index % #creds + 1
  local c = creds[index]
  local sid = string.format("%08x-%04x-4000-8000-%012x", id, run, counter)
  local option = options[counter % 3 + 1]
  local headers = { ["Cookie"] = c[1], ["X-CSRF-Token"] = c[2], ["Origin"] = origin }
  local body
  if form then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    body = "option=" .. option .. "&submission_id=" .. sid
  else
    headers["Content-Type"] = "application/json"
    body = '{"option":"' .. option .. '","submission_id":"' .. sid .. '"}'
  end
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  if status == 201 then
    acked[#acked + 1] = body:match('"receipt":"(%w+)"') or "?"
  elseif status == 303 and form then
    acked[#acked + 1] = "form" .. counter
  else
    failed = failed + 1
    if sample == "" then sample = status .. " " .. body:sub(1, 200) end
  end
end

function done(summary, latency, requests)
  local out = io.open(os.getenv("VOTE_OUT"), "w")
  for _, thread in ipairs(threads) do
    local receipts = thread:get("acked")
    for _, receipt in ipairs(receipts) do out:write(receipt, "\n") end
    local s = thread:get("sample")
    if s ~= "" then io.stderr:write("thread ", thread:get("id"), " first failure: ", s, "\n") end
  end
  out:close()
end
