-- AI: Explain from a bare cursor in a function, as a user runs it: the notes document opens
-- beside the code, served by the same client (one gpt-lsp client in all), and holds the answer
-- once. Runs in the main loop: showDocument opens the notes window as for a user.
local H = dofile(vim.fs.dirname(_G.arg[0]) .. "/harness.lua")

local function notes_buffer()
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(b):match("%-explain%.md$") then
      return b
    end
  end
end

local function clients(bufnr)
  return vim.tbl_map(function(c)
    return { id = c.id, root = c.root_dir or vim.NIL, buffers = vim.tbl_keys(c.attached_buffers) }
  end, vim.lsp.get_clients({ bufnr = bufnr, name = "gpt_lsp" }))
end

H.run_async(function()
  H.stub_ui()
  H.setup()
  local bufnr = H.open("explain.py", H.cfg.source)
  H.result.client_id = H.client_id
  vim.api.nvim_win_set_cursor(0, H.cfg.cursor)
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(action)
      return vim.startswith(action.title, "AI: Explain")
    end,
  })
  local job = H.wait_job(1)
  -- The notes open when the answer starts; a client must serve them for the server to write.
  local notes
  H.settle(10000, function()
    notes = notes_buffer()
    return notes ~= nil and #vim.lsp.get_clients({ bufnr = notes, name = "gpt_lsp" }) > 0
  end)
  H.settle(10000, function() return job.status ~= "running" end)
  H.result.status = job.status
  H.result.source = H.text(bufnr)
  H.result.clients = clients(nil)
  if notes then
    -- The job ended after its last edit was applied: what the user reads now is final.
    H.result.notes = H.text(notes)
    H.result.notes_clients = vim.tbl_map(function(c)
      return c.id
    end, vim.lsp.get_clients({ bufnr = notes, name = "gpt_lsp" }))
  end
end, 40000)
