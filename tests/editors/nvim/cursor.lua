-- A job from a bare cursor (no selection), as a user starts one (main loop):
--   command: `:GptAction refactor`; keymap: the README's `<leader>ar`; code_action: the
--   code action at the cursor; chat: `:GptChat <instruction>` (no range).
-- Records what the plugin sent and the text once the job is done.
local H = dofile(vim.fs.dirname(_G.arg[0]) .. "/harness.lua")

H.run_async(function()
  H.stub_ui()
  H.setup()
  -- The README's suggested keymap.
  vim.keymap.set({ "n", "x" }, "<leader>ar", ":GptAction refactor<CR>", { desc = "AI: refactor" })
  local bufnr = H.open("cursor.py", H.cfg.source)
  vim.api.nvim_win_set_cursor(0, H.cfg.cursor)
  local how = H.cfg.how
  if how == "command" then
    H.keys(":GptAction refactor<CR>", true)
  elseif how == "keymap" then
    H.keys("\\ar", true) -- <leader> is a backslash by default
  elseif how == "code_action" then
    vim.lsp.buf.code_action({
      apply = true,
      filter = function(action)
        return vim.startswith(action.title, "AI: Refactor")
      end,
    })
  else
    H.keys(":GptChat " .. H.cfg.instruction .. "<CR>", true)
  end
  local job = H.wait_job(1)
  H.wait_finished(bufnr, job, 20000)
  H.result.status = job.status
  H.result.final = H.text(bufnr)
end, 40000)
