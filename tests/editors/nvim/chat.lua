-- (b) :GptChat on a range, with the instruction given and then asked for by vim.ui.input.
local H = dofile(vim.fs.dirname(_G.arg[0]) .. "/harness.lua")

H.run(function()
  H.stub_ui(H.cfg.asked_instruction)
  H.setup()
  local bufnr = H.open("chat.py", H.cfg.source)

  vim.cmd("3,4GptChat " .. H.cfg.instruction)
  local first = H.wait_job(1)
  H.wait_finished(bufnr, first)
  H.result.first = { status = first.status, text = H.text(bufnr), title = first.title }
  vim.cmd("GptAccept")
  H.wait(5000, function() return first.status == "accepted" end, ":GptAccept")

  -- No instruction: the shim asks with vim.ui.input (stubbed) for the last line.
  vim.cmd("$GptChat")
  local second = H.wait_job(2)
  H.wait_finished(bufnr, second)
  H.result.second = { status = second.status, text = H.text(bufnr), title = second.title }
end)
