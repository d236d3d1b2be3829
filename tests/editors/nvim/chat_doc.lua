-- A chat document as a user drives it: :GptChatNew on lines with a question, the reply
-- streamed under an AI heading (the cursor left under the new heading), a follow-up typed and
-- sent with the reply key, `AI: Apply to` on the answer's code (a pending job in the source),
-- :GptReject putting the source back, :GptChats listing the chat. Main loop (typed keys).
local H = dofile(vim.fs.dirname(_G.arg[0]) .. "/harness.lua")

local function chat_buffer()
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(b):match("%.md$") and vim.api.nvim_buf_is_loaded(b) then
      return b
    end
  end
end

local function count(text, pattern)
  return select(2, text:gsub(pattern, ""))
end

H.run_async(function()
  H.stub_ui()
  H.setup()
  local source = H.open("chatdoc.py", H.cfg.source)
  H.result.client_id = H.client_id

  vim.cmd("3,4GptChatNew Why sum?")
  local chat
  H.wait(15000, function()
    chat = chat_buffer()
    return chat ~= nil and count(H.text(chat), "\n## You\n") >= 2
  end, "the first reply")
  H.result.first = H.text(chat)
  H.result.current_is_chat = vim.api.nvim_get_current_buf() == chat
  H.result.chat_clients = vim.tbl_map(function(c)
    return c.id
  end, vim.lsp.get_clients({ bufnr = chat, name = "gpt_lsp" }))
  H.wait(5000, function()
    return vim.api.nvim_win_get_cursor(0)[1] == vim.api.nvim_buf_line_count(chat)
  end, "the cursor under the new heading")

  -- A follow-up typed under the new heading, sent with the buffer-local key.
  H.keys("iAnd speed?<Esc>", true)
  H.keys("<C-g><C-g>", true)
  H.wait(15000, function()
    return count(H.text(chat), "\n## You\n") >= 3
  end, "the second reply")
  H.result.second = H.text(chat)

  -- AI: Apply to on the first answer's code.
  local lines = vim.api.nvim_buf_get_lines(chat, 0, -1, false)
  local block
  for i, line in ipairs(lines) do
    if line == "```python" then
      block = i -- the last one: the answer's
    end
  end
  vim.api.nvim_win_set_cursor(0, { block + 1, 0 })
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(action)
      return vim.startswith(action.title, "AI: Apply to")
    end,
  })
  local job = H.wait_job(1)
  H.wait(10000, function()
    return H.text(source):find("sum%(i for i in items%)") ~= nil
  end, "the applied code")
  H.wait(5000, function()
    for _, r in ipairs(H.reviews) do
      if r.jobId == job.id and r.status == "pending" then
        return true
      end
    end
    return false
  end, "the pending review")
  H.result.applied = H.text(source)

  -- Rejected from the source buffer: the original back.
  vim.cmd.wincmd("p")
  vim.api.nvim_set_current_buf(source)
  vim.api.nvim_win_set_cursor(0, { 3, 0 })
  vim.cmd("GptReject")
  H.result.outcome = H.wait_outcome(job.id)
  H.wait(5000, function()
    return H.text(source) == H.cfg.source
  end, "the original back")
  H.result.rejected = H.text(source)

  vim.cmd("GptChats")
  H.wait(5000, function()
    return H.result.select_labels ~= nil
  end, "the chat picker")
end, 60000)
