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
  local pulls = 0
  local answer = vim.lsp.handlers["workspace/configuration"]
  vim.lsp.handlers["workspace/configuration"] = function(...)
    pulls = pulls + 1
    return answer(...)
  end
  local settings = vim.deepcopy(client.settings)
  table.insert(settings.gptLsp.actions, H.cfg.added_action)
  client.settings = settings
  client:notify("workspace/didChangeConfiguration", { settings = settings })
  H.wait(5000, function() return pulls > 0 end, "the server to pull its settings")
  vim.wait(200) -- and to apply them
  H.result.completion_after = vim.fn.getcompletion("GptAction ", "cmdline")
end)
