-- Which client serves a buffer. A document a gpt-lsp server shows (notes, chats: files in
-- gpt-lsp's cache or data directory, outside any project) is served by the client that showed
-- it, never by a second server started for its own root; and the plugin's commands wait for
-- a client that is still starting instead of saying there is none.
local M = {}

local NAME = "gpt_lsp"
--- Documents a gpt-lsp server asked to show, by URI: the id of the client that asked.
local shown = {}

local function attach(bufnr, client_id)
  if not vim.lsp.buf_is_attached(bufnr, client_id) then
    vim.lsp.buf_attach_client(bufnr, client_id)
  end
end

--- The `root_dir` of the client config: the project root by `markers`; for a document a
--- gpt-lsp client showed, that client (attached here, so no second server starts for it).
--- Buffers without a file name get no server.
function M.root_dir(markers)
  return function(bufnr, on_dir)
    if vim.api.nvim_buf_get_name(bufnr) == "" then
      return
    end
    local source = vim.lsp.get_client_by_id(shown[vim.uri_from_bufnr(bufnr)] or -1)
    if source and not source:is_stopped() then
      attach(bufnr, source.id)
      return
    end
    on_dir(vim.fs.root(bufnr, markers))
  end
end

--- window/showDocument: Neovim's own handler opens the document; then the client that asked
--- serves it, whatever its file type (the server writes into it, so it must see it open).
function M.show_document(err, params, ctx)
  local uri = type(params) == "table" and not params.external and params.uri or nil
  if type(uri) == "string" then
    shown[uri] = ctx.client_id -- before it loads: its FileType start asks root_dir above
  end
  local result = vim.lsp.handlers["window/showDocument"](err, params, ctx)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if type(uri) == "string" and client then
    local bufnr = vim.uri_to_bufnr(uri)
    if vim.api.nvim_buf_is_loaded(bufnr) then
      attach(bufnr, client.id)
    end
  end
  return result
end

--- The gpt-lsp client of a buffer; one still starting is waited for (up to `ms`). Returns
--- the client, or nil and whether one was starting.
function M.wait_client(bufnr, ms)
  local function find(uninitialized)
    return vim.lsp.get_clients({ bufnr = bufnr, name = NAME, _uninitialized = uninitialized })[1]
  end
  local client = find(false)
  if client then
    return client, false
  end
  local starting = find(true)
  if not starting then
    -- A buffer opened a moment ago: its client starts on the next turn of the loop.
    vim.wait(200, function()
      starting = find(true)
      return starting ~= nil
    end, 10)
  end
  if not starting then
    return nil, false
  end
  vim.wait(ms or 5000, function()
    return starting.initialized == true or starting:is_stopped()
  end, 20)
  client = find(false)
  return client, client == nil
end

return M
