-- (c) :GptReject puts back the exact original, :GptAccept keeps the text, :GptCancel stops;
-- without an argument each picks the job under the cursor, else the buffer's latest.
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

  -- The cursor sits in A's region: A is rejected although B is more recent.
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  vim.cmd("GptReject")
  H.wait(5000, function() return a.status == "rejected" end, ":GptReject")
  H.wait(5000, function() return H.text(bufnr) == H.cfg.after_reject end, "the original back")
  H.result.rejected = H.text(bufnr)

  -- A is settled, so the latest open job (B) is the one accepted.
  vim.cmd("GptAccept")
  H.wait(5000, function() return b.status == "accepted" end, ":GptAccept")
  H.result.accepted = H.text(bufnr)

  -- A slow job, cancelled while streaming: the text from before it comes back.
  local before = H.text(bufnr)
  vim.cmd("1,2GptAction refactor")
  local c = H.wait_job(3)
  H.wait(10000, function() return H.text(bufnr) ~= before end, "streaming to start")
  vim.api.nvim_win_set_cursor(0, { vim.api.nvim_buf_line_count(bufnr), 0 })
  vim.cmd("GptCancel")
  H.wait_finished(bufnr, c)
  H.wait(5000, function() return H.text(bufnr) == before end, "the text from before the job")
  H.result.cancelled = { status = c.status, text = H.text(bufnr), before = before }
  -- Nothing left running: a second :GptCancel finds no job and says so.
  vim.cmd("GptCancel")
  H.result.last_notice = H.result.notices[#H.result.notices].msg
end)
