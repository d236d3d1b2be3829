-- One `u` after a job, as a user presses it (main loop, typed keys): the flows of issue 18.
--   below / above: type a line below / above the function while the job streams;
--   visual: the job runs on a Visual selection (`V` then `:GptChat ...`);
--   followup: a follow-up turn (`:GptChat` without a range inside the pending region).
-- Records the text after the job, after the `u`, and how the server ended the job.
local H = dofile(vim.fs.dirname(_G.arg[0]) .. "/harness.lua")

local flow = H.cfg.flow
-- The keys that open a line, then the text typed there.
local TYPED = { below = { "Go", "# below" }, above = { "ggO", "# above" } }

local function pending(job)
  for i = #H.reviews, 1, -1 do
    local r = H.reviews[i]
    if r.jobId == job.id then
      return r.status == "pending"
    end
  end
  return false
end

H.run_async(function()
  H.stub_ui()
  H.setup()
  local bufnr = H.open("undo.py", H.cfg.source)
  vim.opt.undolevels = 1000
  local before = H.text(bufnr)

  if flow == "visual" then
    H.keys("3GVj:GptChat add type hints<CR>", true)
  else
    H.keys(":3,4GptAction refactor<CR>", true)
  end
  local job = H.wait_job(1)
  if TYPED[flow] then
    -- Two edits in: Neovim has reported the first (didChange), so the server's next edits
    -- come while the user types, slower than Neovim's 150 ms didChange debounce.
    local texts = { before }
    H.wait(10000, function()
      if H.text(bufnr) ~= texts[#texts] then
        texts[#texts + 1] = H.text(bufnr)
      end
      return #texts >= (H.cfg.edits_before or 2) + 1
    end, "two edits of the stream")
    H.keys(TYPED[flow][1])
    H.result.before_typing = H.text(bufnr)
    H.type(TYPED[flow][2], H.cfg.interval or 200)
    H.result.after_typing = H.text(bufnr)
    H.keys("<Esc>", true)
    H.result.typed_while = job.status
  end
  H.wait_finished(bufnr, job, 20000)
  H.wait(5000, function() return pending(job) end, "the job pending")
  if flow == "followup" then
    H.keys("4G:GptChat make it shorter<CR>", true)
    H.wait(5000, function() return H.text(bufnr):find("return 0", 1, true) ~= nil end, "the follow-up's text")
    job.status = "running"
    H.wait_finished(bufnr, job, 20000)
    H.wait(5000, function() return pending(job) end, "pending after the follow-up")
  end
  H.result.status = job.status
  H.result.done = H.text(bufnr)

  H.keys("u", true)
  H.result.after_u = H.text(bufnr)
  H.result.outcome = H.wait_outcome(job.id, 5000)
  -- What the server may still write after it ended the job (a restore), then nothing more.
  H.settle(3000, function() return H.text(bufnr) == H.cfg.expected end)
  H.pause(600) -- past the server's 0.5 s verdict grace: any restore it decides on is sent
  H.round_trip()
  H.result.final = H.text(bufnr)
  if TYPED[flow] then
    -- Then `u` again and again, back to before the job: each step as the user sees it.
    local steps = { H.result.final }
    for _ = 1, 60 do
      H.keys("u", true)
      if H.text(bufnr) == steps[#steps] then
        break -- at the oldest change
      end
      steps[#steps + 1] = H.text(bufnr)
    end
    H.result.undo_steps = steps
  end
end, 60000)
