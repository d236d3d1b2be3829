-- Which range a command covers: the selection or the lines given; at a bare cursor, what the
-- code actions there cover (the server decides that), or new code at a blank line.
local M = {}

--- The range of a command given one: whole lines, or the charwise selection on those lines.
function M.lines(bufnr, opts, encoding)
  local first, last = opts.line1 - 1, opts.line2 - 1
  local count = vim.api.nvim_buf_line_count(bufnr)
  local lines = vim.api.nvim_buf_get_lines(bufnr, first, last + 1, false)
  local start = { line = first, character = 0 }
  local finish
  if last + 1 < count then
    finish = { line = last + 1, character = 0 }
  else
    finish = { line = last, character = vim.lsp.util.character_offset(bufnr, last, #lines[#lines], encoding) }
  end
  if opts.range == 2 and vim.fn.visualmode() == "v" then
    local a = vim.api.nvim_buf_get_mark(bufnr, "<")
    local b = vim.api.nvim_buf_get_mark(bufnr, ">")
    if a[1] - 1 == first and b[1] - 1 == last then
      start.character = vim.lsp.util.character_offset(bufnr, first, a[2], encoding)
      local text = lines[#lines]
      -- '> points at the first byte of the last selected character: include all of it.
      if b[2] < #text then
        local stop = b[2] + 1 + vim.str_utf_end(text, b[2] + 1)
        finish = { line = last, character = vim.lsp.util.character_offset(bufnr, last, stop, encoding) }
      end
    end
  end
  return { start = start, ["end"] = finish }
end

--- The cursor as an empty range: the server takes the definition around it (the same target
--- as the code actions there).
function M.cursor(client)
  local position = vim.lsp.util.make_position_params(0, client.offset_encoding).position
  return { start = position, ["end"] = position }
end

--- What :GptChat without a range rewrites outside a pending job: on a blank line nothing (new
--- code is written there, an insertion); on code, the definition around the cursor, as its
--- code actions cover it (asked of the server), else the cursor's line.
function M.chat(client, bufnr, opts)
  local row = vim.api.nvim_win_get_cursor(0)[1] - 1
  local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
  if vim.trim(line) == "" then
    local at = { line = row, character = 0 }
    return { start = at, ["end"] = at }
  end
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    range = M.cursor(client),
    context = { diagnostics = {}, only = { "refactor.rewrite" } },
  }
  local reply = client:request_sync("textDocument/codeAction", params, 3000, bufnr)
  for _, action in ipairs(reply and reply.result or {}) do
    local command = type(action.command) == "table" and action.command or {}
    local arg = command.command == "gptLsp.run" and command.arguments and command.arguments[1]
    local range = type(arg) == "table" and not arg.marker and arg.range
    if type(range) == "table" and not vim.deep_equal(range.start, range["end"]) then
      return range
    end
  end
  return M.lines(bufnr, opts, client.offset_encoding)
end

return M
