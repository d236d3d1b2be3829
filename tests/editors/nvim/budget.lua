-- A budget in setup{settings} is the user's: it travels as user settings only (the server has
-- no project value to ignore and warn about), and it holds: once today's spend reaches the
-- cap, the next job is refused before anything is sent.
local H = dofile(vim.fs.dirname(_G.arg[0]) .. "/harness.lua")

H.run(function()
  H.stub_ui(nil)
  H.setup()
  local bufnr, client = H.open("budget.py", H.cfg.source)
  H.result.section = client.settings.gptLsp

  vim.cmd("3,4GptAction refactor")
  local first = H.wait_job(1)
  H.wait_finished(bufnr, first)
  H.result.first = first.status
  vim.cmd("GptAccept")
  H.wait_command("gptLsp.accept")

  vim.cmd("3,4GptAction refactor")
  local refused = H.wait_command("gptLsp.run")
  H.result.refused = refused.error
  H.result.started = #H.started
  H.round_trip() -- any message the server sent before its answer has been shown
end)
