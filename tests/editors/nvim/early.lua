-- A user runs a command (or the plugin's code_action) the moment a file opens, before the
-- server has started (main loop): the command waits for it and the job runs.
local H = dofile(vim.fs.dirname(_G.arg[0]) .. "/harness.lua")

H.run_async(function()
  H.stub_ui()
  H.setup()
  local path = H.cfg.workdir .. "/early.py"
  vim.fn.writefile(vim.split(H.cfg.source, "\n", { plain = true }), path, "b")
  vim.cmd.edit(vim.fn.fnameescape(path))
  local bufnr = vim.api.nvim_get_current_buf()
  vim.api.nvim_win_set_cursor(0, { 4, 12 })
  H.result.ready_before = #vim.lsp.get_clients({ bufnr = bufnr, name = "gpt_lsp" })
  if H.cfg.how == "code_action" then
    require("gpt_lsp").code_action({
      apply = true,
      filter = function(action)
        return vim.startswith(action.title, "AI: Refactor")
      end,
    })
  else
    H.keys(":GptAction refactor<CR>", true)
  end
  H.wait(15000, function()
    return require("gpt_lsp").client(bufnr) ~= nil
  end, "the client")
  H.client_id = require("gpt_lsp").client(bufnr).id
  H.wait(10000, function() return H.text(bufnr) ~= H.cfg.source end, "the job's text")
  H.result.text_started = true
end, 40000)
