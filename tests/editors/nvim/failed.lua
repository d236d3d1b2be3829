-- A job the relay refuses, as a user runs it (main loop): what the user reads last once it
-- ended must still say why, and the text is as it was.
local H = dofile(vim.fs.dirname(_G.arg[0]) .. "/harness.lua")

H.run_async(function()
  H.stub_ui()
  H.setup()
  local bufnr = H.open("failed.py", H.cfg.source)
  H.keys(":3,4GptAction refactor<CR>", true)
  local job = H.wait_job(1)
  H.wait_finished(bufnr, job, 20000)
  H.result.status = job.status
  H.result.final = H.text(bufnr)
  -- Anything the plugin shows in reaction to the end has been shown after one more turn.
  H.pause(0)
  H.result.last_notice = H.last_notice()
end, 40000)
