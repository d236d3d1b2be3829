-- Chat documents: :GptChatNew [question] (on a range, the selection goes in), :GptChats (a
-- picker of this workspace's chats), :GptChatReply / :GptChatCancel, and a buffer-local key
-- in a chat to reply. The server writes the chat; this file only opens it and forwards.
local M = {}

local MARKER = "<!-- gpt-lsp chat"
--- The key that replies in a chat buffer (normal and insert mode); false: none.
M.reply_key = "<C-g><C-g>"

local function uri_of(bufnr)
  return vim.uri_from_bufnr(bufnr)
end

--- True for a buffer holding a chat document (its first line is the chat's marker).
function M.is_chat(bufnr)
  local first = vim.api.nvim_buf_get_lines(bufnr, 0, 1, false)[1] or ""
  return vim.startswith(first, MARKER)
end

--- The key and commands of a chat buffer, once.
function M.prepare(bufnr)
  if vim.b[bufnr].gpt_lsp_chat then
    return
  end
  vim.b[bufnr].gpt_lsp_chat = true
  if M.reply_key then
    vim.keymap.set({ "n", "i" }, M.reply_key, "<Cmd>GptChatReply<CR>", {
      buffer = bufnr,
      desc = "gpt-lsp: send the chat for a reply",
    })
  end
end

--- Opens a chat in a window beside the current one, served by `client`; returns its buffer.
function M.open(uri, client)
  local bufnr = vim.uri_to_bufnr(uri)
  local win = vim.fn.bufwinid(bufnr)
  if win ~= -1 then
    vim.api.nvim_set_current_win(win)
  else
    vim.cmd("belowright vsplit " .. vim.fn.fnameescape(vim.uri_to_fname(uri)))
    bufnr = vim.api.nvim_get_current_buf()
  end
  vim.bo[bufnr].filetype = "markdown"
  if client and not vim.lsp.buf_is_attached(bufnr, client.id) then
    vim.lsp.buf_attach_client(bufnr, client.id) -- outside the project: no client of its own
  end
  M.prepare(bufnr)
  local last = vim.api.nvim_buf_line_count(bufnr)
  vim.api.nvim_win_set_cursor(0, { last, 0 })
  return bufnr
end

--- gptLsp/chatReplied: the cursor goes under the new heading of the chat the user is in.
function M.on_replied(_, params)
  if type(params) ~= "table" or type(params.position) ~= "table" then
    return
  end
  local bufnr = vim.api.nvim_get_current_buf()
  if uri_of(bufnr) == params.uri then
    local line = math.min(params.position.line + 1, vim.api.nvim_buf_line_count(bufnr))
    pcall(vim.api.nvim_win_set_cursor, 0, { line, 0 })
  end
end

--- The commands; `gpt` is the plugin (its client lookup, exec and words).
function M.commands(gpt, with_client, targets)
  local cmd = vim.api.nvim_create_user_command
  cmd("GptChatNew", with_client(function(client, bufnr, opts)
    local arg = { uri = uri_of(bufnr) }
    if opts.range > 0 then
      arg.range = targets.lines(bufnr, opts, client.offset_encoding)
    else
      arg.position = vim.lsp.util.make_position_params(0, client.offset_encoding).position
    end
    if opts.args ~= "" then
      arg.instruction = opts.args
    end
    arg.diagnostics = vim.lsp.diagnostic.from(vim.diagnostic.get(bufnr))
    gpt.exec(client, bufnr, "gptLsp.chatOpen", arg, function(result)
      M.open(result.uri, client)
    end)
  end), { range = true, nargs = "*", desc = "gpt-lsp: a new chat (with the selection)" })
  cmd("GptChats", with_client(function(client, bufnr)
    gpt.exec(client, bufnr, "gptLsp.chatList", nil, function(result)
      local chats = type(result) == "table" and result.chats or {}
      if #chats == 0 then
        vim.notify("gpt-lsp: " .. gpt.say(client, "noChats"))
        return
      end
      vim.ui.select(chats, {
        prompt = gpt.say(client, "chatPick"),
        format_item = function(chat)
          return chat.title .. "  (" .. chat.updated:sub(1, 16):gsub("T", " ") .. ")"
        end,
      }, function(chat)
        if chat then
          M.open(chat.uri, client)
        end
      end)
    end)
  end), { desc = "gpt-lsp: open one of this workspace's chats" })
  cmd("GptChatReply", with_client(function(client, bufnr)
    vim.cmd("silent! stopinsert")
    gpt.exec(client, bufnr, "gptLsp.chatReply", { uri = uri_of(bufnr) })
  end), { desc = "gpt-lsp: send the chat for a reply" })
  cmd("GptChatCancel", with_client(function(client, bufnr)
    gpt.exec(client, bufnr, "gptLsp.chatCancel", { uri = uri_of(bufnr) })
  end), { desc = "gpt-lsp: stop the chat's reply, keeping what came" })
  vim.api.nvim_create_autocmd({ "BufReadPost", "BufWinEnter" }, {
    group = vim.api.nvim_create_augroup("gpt_lsp_chat", { clear = true }),
    pattern = "*.md",
    callback = function(ev)
      if M.is_chat(ev.buf) then
        M.prepare(ev.buf)
      end
    end,
  })
end

return M
