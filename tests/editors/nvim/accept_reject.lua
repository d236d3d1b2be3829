-- (c) :GptReject puts back the exact original, :GptAccept keeps the text, :GptCancel stops.
-- Without an argument each sends the cursor's position: the server picks the job whose region
-- holds it, else the buffer's most recent job.
local H = dofile(vim.fs.dirname(_G.arg[0]) .. "/harness.lua")

H.run(function()
  H.stub_ui()
  H.setup()
  local bufnr = H.open("jobs.py", H.cfg.source)

  vim.cmd("1,2GptAction refactor")
  local a = H.wait_job(1)
  H.wait_finished(bufnr, a)
  vim.cmd("4,5GptAction refactor")
  local b = H.wait_job(2)
  H.wait_finished(bufnr, b)
  H.result.both = { a = a.status, b = b.status, text = H.text(bufnr) }

  -- The cursor on the last line, outside both regions: the most recent job (B) is accepted.
  vim.api.nvim_win_set_cursor(0, { vim.api.nvim_buf_line_count(bufnr), 0 })
  vim.cmd("GptAccept")
  H.result.accept = H.wait_command("gptLsp.accept")
  H.result.accepted = H.text(bufnr)

  -- The cursor in A's region: A is rejected.
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  vim.cmd("GptReject")
  H.result.reject = H.wait_command("gptLsp.reject")
  H.wait(5000, function() return H.text(bufnr) == H.cfg.after_reject end, "the original back")
  H.result.rejected = H.text(bufnr)

  -- B was accepted: nothing is left to reject in its region.
  vim.api.nvim_win_set_cursor(0, { 4, 0 })
  vim.cmd("GptReject")
  H.result.reject_again = H.wait_command("gptLsp.reject")
  H.result.reject_again.notice = H.last_notice()
  H.result.reject_again.text = H.text(bufnr)

  -- A slow job, cancelled while streaming with the cursor outside its region: the buffer's
  -- most recent running job stops and the text from before it comes back.
  local before = H.text(bufnr)
  vim.cmd("1,2GptAction refactor")
  local c = H.wait_job(3)
  H.wait(10000, function() return H.text(bufnr) ~= before end, "streaming to start")
  vim.api.nvim_win_set_cursor(0, { vim.api.nvim_buf_line_count(bufnr), 0 })
  vim.cmd("GptCancel")
  H.wait_finished(bufnr, c)
  H.wait(5000, function() return H.text(bufnr) == before end, "the text from before the job")
  H.result.cancelled = { status = c.status, text = H.text(bufnr), before = before, summary = c.summary }
  H.result.cancel_notice = H.last_notice()
  -- Nothing left running: a second :GptCancel finds no job and says so.
  vim.cmd("GptCancel")
  H.wait_command("gptLsp.cancel")
  H.result.last_notice = H.last_notice()
end)
