-- (b) :GptChat on a range, with the instruction given and then asked for by vim.ui.input.
local H = dofile(vim.fs.dirname(_G.arg[0]) .. "/harness.lua")

H.run(function()
  H.stub_ui(H.cfg.asked_instruction)
  H.setup()
  local bufnr = H.open("chat.py", H.cfg.source)

  vim.cmd("3,4GptChat " .. H.cfg.instruction)
  local first = H.wait_job(1)
  H.wait_finished(bufnr, first)
  H.result.first = { status = first.status, text = H.text(bufnr), summary = first.summary }
  -- The cursor is still on line 1, outside the region: the buffer's most recent job.
  vim.cmd("GptAccept")
  H.result.accept = H.wait_command("gptLsp.accept")

  -- No instruction: the shim asks with vim.ui.input (stubbed) for the last line.
  vim.cmd("$GptChat")
  local second = H.wait_job(2)
  H.wait_finished(bufnr, second)
  H.result.second = { status = second.status, text = H.text(bufnr), summary = second.summary }
end)
