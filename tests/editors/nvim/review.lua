-- A pending job in Neovim: the original drawn as virtual lines above the region, the new text
-- highlighted, lenses and review keys while pending; one `u` takes the whole job back (and
-- ends it); :GptChat without a range inside a pending region refines it; :GptReject after two
-- turns puts back the exact original. Runs in the main loop (undo blocks close as for a user).
local H = dofile(vim.fs.dirname(_G.arg[0]) .. "/harness.lua")
local review -- required once H.setup() put the plugin on the runtimepath

local function drawn(bufnr)
  local out = { virt_lines = {}, highlighted = {} }
  for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(bufnr, review.namespace, 0, -1, { details = true })) do
    local row, details = mark[2], mark[4]
    for _, chunks in ipairs(details.virt_lines or {}) do
      out.virt_lines[#out.virt_lines + 1] = { row = row, text = chunks[1][1], hl = chunks[1][2] }
    end
    if details.hl_group then
      out.highlighted[#out.highlighted + 1] = { first = row, last = details.end_row, hl = details.hl_group }
    end
  end
  return out
end

local function lens_titles(bufnr)
  return vim.tbl_map(function(lens)
    return lens.command and lens.command.title or ""
  end, vim.lsp.codelens.get(bufnr))
end

local function job_state(bufnr, id)
  local state = review.state(bufnr)[id]
  return state and state.status or "none"
end

H.run_async(function()
  H.stub_ui()
  H.setup()
  review = require("gpt_lsp.review")
  local bufnr = H.open("review.py", H.cfg.source)
  vim.opt.undolevels = 1000

  -- 1. A job streams in and stays pending.
  vim.cmd("3,4GptAction refactor")
  local a = H.wait_job(1)
  H.wait_finished(bufnr, a)
  H.wait(5000, function() return job_state(bufnr, a.id) == "pending" end, "the job pending")
  H.wait(5000, function() return #lens_titles(bufnr) == 2 end, "the lenses")
  H.result.pending = {
    text = H.text(bufnr),
    drawn = drawn(bufnr),
    lenses = lens_titles(bufnr),
    accept_key = vim.fn.maparg("ga", "n", false, true).desc,
    reject_key = vim.fn.maparg("gr", "n", false, true).desc,
  }

  -- 2. One `u` restores the original; the server sees it and ends the job.
  vim.cmd("normal! u")
  H.result.after_undo = H.text(bufnr)
  H.wait(5000, function() return job_state(bufnr, a.id) == "none" end, "the undone job to end")
  H.wait(5000, function() return #lens_titles(bufnr) == 0 end, "the lenses gone")
  H.result.undone = {
    drawn = drawn(bufnr),
    keys = vim.fn.maparg("ga", "n", false, true).desc or "",
  }

  -- 3. A second job, refined with :GptChat (no range) inside its region, then rejected.
  vim.cmd("3,4GptAction refactor")
  local b = H.wait_job(2)
  H.wait_finished(bufnr, b)
  H.wait(5000, function() return job_state(bufnr, b.id) == "pending" end, "the second job pending")
  vim.api.nvim_win_set_cursor(0, { 4, 2 })
  b.status = "running"
  vim.cmd("GptChat make it shorter")
  H.result.refine = H.wait_command("gptLsp.chat")
  H.wait_finished(bufnr, b)
  H.wait(5000, function() return H.text(bufnr):find("return 0", 1, true) ~= nil end, "the refined text")
  H.wait(5000, function() return job_state(bufnr, b.id) == "pending" end, "pending after the refine")
  H.result.refined = H.text(bufnr)
  vim.cmd("GptReject")
  H.result.reject = H.wait_command("gptLsp.reject")
  H.wait(5000, function() return H.text(bufnr) == H.cfg.source end, "the original back")
  H.wait(5000, function() return job_state(bufnr, b.id) == "none" end, "the rejected job to end")
  H.result.rejected = H.text(bufnr)
end)
