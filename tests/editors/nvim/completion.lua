-- Ghost text: the shim enables vim.lsp.inline_completion when completion.enabled is set; the
-- suggestion shows as an extmark at the cursor and the accept key puts it in the buffer.
local H = dofile(vim.fs.dirname(_G.arg[0]) .. "/harness.lua")

local NS = vim.api.nvim_create_namespace("nvim.lsp.inline_completion")

local function ghost(bufnr)
  local marks = vim.api.nvim_buf_get_extmarks(bufnr, NS, 0, -1, { details = true })
  local mark = marks[1]
  return mark and mark[4].virt_text and mark[4].virt_text[1][1] or nil
end

H.run(function()
  H.stub_ui()
  H.setup()
  local bufnr = H.open("ghost.py", H.cfg.source)
  -- As in insert mode, the cursor may stand after the line's last character.
  vim.o.virtualedit = "onemore"
  vim.api.nvim_win_set_cursor(0, { H.cfg.row, H.cfg.col })
  -- `-l` runs no insert mode: fire the event the completor requests on.
  vim.api.nvim_exec_autocmds("InsertEnter", { buffer = bufnr })
  H.wait(10000, function() return ghost(bufnr) ~= nil end, "the ghost text")
  H.result.ghost = ghost(bufnr)
  H.result.accepted = require("gpt_lsp").accept_completion()
  H.wait(3000, function() return H.text(bufnr) ~= H.cfg.source end, "the accepted text")
  H.result.final = H.text(bufnr)
  vim.cmd("GptCompletion off")
  H.result.off_notice = H.last_notice()
  vim.api.nvim_exec_autocmds("InsertEnter", { buffer = bufnr })
  vim.wait(700, function() return false end, 20) -- past the completor's 200 ms debounce
  H.result.ghost_after_off = ghost(bufnr) or vim.NIL
end)
