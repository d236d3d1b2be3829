-- :GptAction offers the server's actions (gptLsp.status): ids to complete, titles to pick
-- from; a settings change that adds one shows in the completion.
local H = dofile(vim.fs.dirname(_G.arg[0]) .. "/harness.lua")

H.run(function()
  H.stub_ui()
  H.setup()
  local bufnr, client = H.open("actions.py", H.cfg.source)

  H.result.completion = vim.fn.getcompletion("GptAction ", "cmdline")
  H.result.completion_re = vim.fn.getcompletion("GptAction re", "cmdline")

  -- No id: vim.ui.select over the titles (the stub picks H.cfg.pick).
  vim.cmd("1GptAction")
  local job = H.wait_job(1)
  H.wait_finished(bufnr, job)
  H.result.run = H.wait_command("gptLsp.run")
  H.result.summary = job.summary
  H.result.text = H.text(bufnr)

  -- A settings change: the server pulls the new section, the plugin asks for the actions again.
  local settings = vim.deepcopy(client.settings)
  table.insert(settings.gptLsp.actions, H.cfg.added_action)
  client.settings = settings
  client:notify("workspace/didChangeConfiguration", { settings = settings })
  -- Let the server pull the section (workspace/configuration) before asking.
  vim.wait(500, function() return false end, 20)
  H.result.completion_after = vim.fn.getcompletion("GptAction ", "cmdline")
end)
