-- Pending jobs in Neovim: draws what gptLsp/review says (the original as virtual lines above
-- the region, the new text highlighted), maps accept / reject keys while a job is under
-- review, refreshes the code lenses, and joins a job's edits into one undo step.
-- The server decides everything; this file only draws and forwards.
local M = {}

local ns = vim.api.nvim_create_namespace("gpt_lsp_review")
--- What is drawn, by buffer then job id: { status, first, last, marks }.
local drawn = {}
--- The last gpt-lsp edit applied per buffer: { label, tick }, for joining undo steps.
local last_edit = {}

M.keys = { accept = "ga", reject = "gr" }

local function lines_of(text)
  local out = vim.split(text, "\n", { plain = true })
  if out[#out] == "" then
    out[#out] = nil -- the original ended with a line break
  end
  for i, line in ipairs(out) do
    out[i] = line:gsub("\r$", "")
  end
  return out
end

-- The rows a region covers: a region of whole lines ends before its last line's first column.
local function rows_of(range)
  local first, last = range.start.line, range["end"].line
  if range["end"].character == 0 and last > first then
    last = last - 1
  end
  return first, last
end

local function clear(bufnr, job_id)
  local jobs = drawn[bufnr]
  local job = jobs and jobs[job_id]
  if not job then
    return
  end
  for _, id in ipairs(job.marks) do
    pcall(vim.api.nvim_buf_del_extmark, bufnr, ns, id)
  end
  jobs[job_id] = nil
end

local function draw(bufnr, params)
  local first, last = rows_of(params.range)
  local count = vim.api.nvim_buf_line_count(bufnr)
  if first >= count then
    return
  end
  last = math.min(last, count - 1)
  local marks = {}
  local original = lines_of(params.original or "")
  if #original > 0 then
    local virt = vim.tbl_map(function(line)
      return { { line, "DiffDelete" } }
    end, original)
    local ok, id = pcall(vim.api.nvim_buf_set_extmark, bufnr, ns, first, 0, {
      virt_lines = virt,
      virt_lines_above = true,
    })
    if ok then
      marks[#marks + 1] = id
      if first == 0 then
        -- Lines above the buffer's first line stay hidden until scrolled to: show them.
        for _, win in ipairs(vim.fn.win_findbuf(bufnr)) do
          vim.api.nvim_win_call(win, function()
            if vim.fn.line("w0") == 1 then
              vim.fn.winrestview({ topfill = #virt })
            end
          end)
        end
      end
    end
  end
  local empty = params.range.start.line == params.range["end"].line
    and params.range.start.character == params.range["end"].character
  if not empty then
    -- The highlight grows with the text streamed in until the next notification: text
    -- inserted at its start or end goes inside it.
    local ok, id = pcall(vim.api.nvim_buf_set_extmark, bufnr, ns, first, 0, {
      end_row = last,
      end_col = #(vim.api.nvim_buf_get_lines(bufnr, last, last + 1, false)[1] or ""),
      hl_group = "DiffAdd",
      hl_eol = true,
      right_gravity = false,
      end_right_gravity = true,
    })
    if ok then
      marks[#marks + 1] = id
    end
  end
  drawn[bufnr] = drawn[bufnr] or {}
  drawn[bufnr][params.jobId] = { status = params.status, first = first, last = last, marks = marks }
end

local function position_arg(bufnr, client)
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  return { uri = vim.uri_from_bufnr(bufnr), position = params.position }
end

-- Buffer-local keys while a job is under review in the buffer; gone when none is.
local function update_keys(bufnr, exec)
  local reviewing = next(drawn[bufnr] or {}) ~= nil
  for verb, lhs in pairs(M.keys or {}) do
    if lhs and lhs ~= "" then
      local desc = "gpt-lsp: " .. verb .. " the AI edit at the cursor"
      local current = vim.fn.maparg(lhs, "n", false, true)
      local ours = type(current) == "table" and current.buffer == 1 and current.desc == desc
      if reviewing and not ours and not (type(current) == "table" and current.buffer == 1) then
        vim.keymap.set("n", lhs, function()
          local client = vim.lsp.get_clients({ bufnr = bufnr, name = "gpt_lsp" })[1]
          if client then
            exec(client, bufnr, "gptLsp." .. verb, position_arg(bufnr, client))
          end
        end, { buffer = bufnr, desc = desc })
      elseif not reviewing and ours then
        pcall(vim.keymap.del, "n", lhs, { buffer = bufnr })
      end
    end
  end
end

--- Handler of gptLsp/review notifications.
function M.handler(exec)
  return function(_, params)
    if type(params) ~= "table" or type(params.uri) ~= "string" then
      return
    end
    local bufnr = vim.uri_to_bufnr(params.uri)
    if not vim.api.nvim_buf_is_loaded(bufnr) then
      return
    end
    local before = drawn[bufnr] and drawn[bufnr][params.jobId]
    clear(bufnr, params.jobId)
    if params.status ~= "ended" then
      draw(bufnr, params)
    end
    update_keys(bufnr, exec)
    if params.status == "running" then
      -- Neovim drops a lens whose line changes, and the stream changes the region's first
      -- line: ask again at each notification (at most every 200 ms while it streams).
      pcall(vim.lsp.codelens.refresh, { bufnr = bufnr })
    end
    if not before or before.status ~= params.status then
      -- Lenses follow the job's state: ask for them again (this Neovim has no lens refresh).
      pcall(vim.lsp.codelens.refresh, { bufnr = bufnr })
      -- A refresh still in flight swallows this one: ask once more when it has surely ended.
      vim.defer_fn(function()
        if vim.api.nvim_buf_is_loaded(bufnr) then
          pcall(vim.lsp.codelens.refresh, { bufnr = bufnr })
        end
      end, 300)
    end
  end
end

--- The job drawn at a row of a buffer (running or pending), or nil.
function M.job_at(bufnr, row)
  for job_id, job in pairs(drawn[bufnr] or {}) do
    if row >= job.first and row <= job.last then
      return job_id
    end
  end
  return nil
end

--- What is drawn in a buffer (for tests and :checkhealth): { jobId = { status, first, last } }.
function M.state(bufnr)
  local out = {}
  for job_id, job in pairs(drawn[bufnr] or {}) do
    out[job_id] = { status = job.status, first = job.first, last = job.last, marks = #job.marks }
  end
  return out
end

M.namespace = ns

-- Neovim drops the lenses of a line that changes, and a job's edits change its region's first
-- line (where its lenses are): draw the lenses it has again, without asking the server.
local function redraw_lenses(bufnr, client_id)
  local ours = vim.tbl_filter(function(lens)
    return lens.command ~= nil and vim.startswith(lens.command.command or "", "gptLsp.")
  end, vim.lsp.codelens.get(bufnr))
  if #ours > 0 then
    pcall(vim.lsp.codelens.display, ours, bufnr, client_id)
  end
end

-- Closes the buffer's open undo block: setting 'undolevels', even to its own value, does
-- (as CTRL-G u in Insert mode).
local function close_undo_block(bufnr)
  vim.api.nvim_buf_call(bufnr, function()
    vim.bo.undolevels = vim.bo.undolevels
  end)
end

--- workspace/applyEdit for gpt-lsp: the edits of one job (one label) with nothing typed in
--- between join the job's previous undo block, so one `u` takes the whole job back. Only
--- the job's own block: an edit after the user's typing starts a new block (joined, or left
--- open, it would go into the user's Insert-mode block, and the user's `u` would take
--- the typed text and half the job away together), and each edit closes its block so that
--- what the user types next never joins it.
function M.apply_edit(_, params, ctx)
  local label = type(params) == "table" and params.label or nil
  local buffers, ticks = {}, {}
  if type(label) == "string" and vim.startswith(label, "gpt-lsp job-") then
    for _, change in ipairs(params.edit and params.edit.documentChanges or {}) do
      local uri = change.textDocument and change.textDocument.uri
      if uri then
        local bufnr = vim.uri_to_bufnr(uri)
        buffers[#buffers + 1] = bufnr
        ticks[bufnr] = vim.b[bufnr].changedtick
        local previous = last_edit[bufnr]
        if previous and previous.label == label and previous.tick == vim.b[bufnr].changedtick then
          vim.api.nvim_buf_call(bufnr, function()
            pcall(vim.cmd.undojoin)
          end)
        elseif vim.api.nvim_buf_is_loaded(bufnr) then
          close_undo_block(bufnr)
        end
      end
    end
  end
  -- As Neovim's own handler does, without its "Workspace edit <label>" echo per edit (a job
  -- sends dozens), which hid the progress messages.
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if type(params) ~= "table" or not params.edit or not client then
    return { applied = false, failureReason = "no edit" }
  end
  local ok, failure = pcall(vim.lsp.util.apply_workspace_edit, params.edit, client.offset_encoding)
  for _, bufnr in ipairs(buffers) do
    if vim.api.nvim_buf_is_loaded(bufnr) then
      close_undo_block(bufnr)
      -- Only an edit that changed the buffer makes the last block the job's: Neovim skips an
      -- edit for an older version (answering applied), and the next edit would then join
      -- whatever block is last, the user's.
      if vim.b[bufnr].changedtick ~= ticks[bufnr] then
        last_edit[bufnr] = { label = label, tick = vim.b[bufnr].changedtick }
      end
      redraw_lenses(bufnr, client.id)
    end
  end
  return { applied = ok, failureReason = not ok and tostring(failure) or nil }
end

return M
