-- gpt-lsp for Neovim 0.11+: starts the server, passes settings, adds a few commands.
-- Prompts, defaults and all job logic live in the server; this file only forwards.
local M = {}

local NAME = "gpt_lsp"
local ACTION_IDS = { "refactor", "fix", "document", "explain" }
local ns = vim.api.nvim_create_namespace("gpt_lsp_jobs")

--- Options given to setup(), kept for :checkhealth.
M.options = {}
--- Jobs this Neovim started, by jobId: { id, bufnr, mark, title, status, seq }.
M.jobs = {}
local seq = 0

local function notify(msg, level)
  vim.notify("gpt-lsp: " .. msg, level or vim.log.levels.INFO)
end

--- The gpt-lsp client attached to a buffer, if any.
function M.client(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr or 0, name = NAME })[1]
end

-- LSP position -> (row, byte col) in the buffer, clamped to its end (a range may end past it).
local function to_byte(bufnr, pos, encoding)
  local count = vim.api.nvim_buf_line_count(bufnr)
  if pos.line >= count then
    local last = vim.api.nvim_buf_get_lines(bufnr, count - 1, count, false)[1] or ""
    return count - 1, #last
  end
  local line = vim.api.nvim_buf_get_lines(bufnr, pos.line, pos.line + 1, false)[1] or ""
  local ok, col = pcall(vim.str_byteindex, line, encoding, pos.character, false)
  return pos.line, ok and col or #line
end

-- Remembers a job and marks its region; the extmark grows with the text streamed into it.
local function track(bufnr, job_id, range, title, encoding)
  seq = seq + 1
  local job = M.jobs[job_id] or { status = "running" }
  job.id, job.bufnr, job.title, job.seq = job_id, bufnr, title, seq
  if range and vim.api.nvim_buf_is_valid(bufnr) then
    local sr, sc = to_byte(bufnr, range.start, encoding)
    local er, ec = to_byte(bufnr, range["end"], encoding)
    job.mark = vim.api.nvim_buf_set_extmark(bufnr, ns, sr, sc, {
      end_row = er,
      end_col = ec,
      right_gravity = false, -- text inserted at the start belongs to the job
      end_right_gravity = true, -- so does text appended at the end
      strict = false,
    })
  end
  M.jobs[job_id] = job
  return job
end

local function forget_mark(job)
  if job.mark and vim.api.nvim_buf_is_valid(job.bufnr) then
    pcall(vim.api.nvim_buf_del_extmark, job.bufnr, ns, job.mark)
  end
  job.mark = nil
end

--- Sends workspace/executeCommand; on_result gets the result when there is no error.
function M.exec(client, bufnr, command, argument, on_result)
  local params = { command = command, arguments = argument and { argument } or {} }
  client:request("workspace/executeCommand", params, function(err, result)
    if err then
      notify(command .. ": " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    elseif on_result then
      on_result(result)
    end
  end, bufnr)
end

--- Starts a job (gptLsp.run or gptLsp.chat) and tracks it from the {jobId} answer.
function M.start(client, bufnr, command, argument, title)
  M.exec(client, bufnr, command, argument, function(result)
    if type(result) == "table" and result.jobId then
      local target = vim.uri_to_bufnr(argument.uri or vim.uri_from_bufnr(bufnr))
      track(target, result.jobId, argument.range, title, client.offset_encoding)
    end
  end)
end

-- A finished job: remember its status, echo one short line (errors came as showMessage).
local function on_job_finished(_, params)
  if type(params) ~= "table" or not params.jobId then
    return
  end
  local job = M.jobs[params.jobId]
  if not job then
    -- Started elsewhere (another client command): track it without a region.
    local fname = vim.uri_to_fname(params.uri or "")
    local bufnr = vim.fn.bufnr(fname)
    job = track(bufnr, params.jobId, nil, "AI", "utf-8")
  end
  job.status = params.status
  if params.status ~= "done" then
    forget_mark(job) -- the server put the original back: nothing left to accept
  end
  local parts = { (job.title or "AI") .. ": " .. tostring(params.status) }
  local usage = params.usage
  if type(usage) == "table" and usage.totalTokens then
    parts[#parts + 1] = (usage.estimated and "~" or "") .. usage.totalTokens .. " tokens"
    if type(usage.costUsd) == "number" then
      parts[#parts + 1] = string.format("$%.4f", usage.costUsd)
    end
  end
  local text = table.concat(parts, ", ")
  if params.message and params.status ~= "failed" then
    text = text .. " (" .. params.message .. ")"
  end
  if M.options.notify ~= false then
    notify(text, params.status == "done" and vim.log.levels.INFO or vim.log.levels.WARN)
  end
end

-- The range a user command covers: whole lines, or the charwise selection on those lines.
local function command_range(bufnr, opts, encoding)
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

local function with_client(fn)
  return function(opts)
    local bufnr = vim.api.nvim_get_current_buf()
    local client = M.client(bufnr)
    if not client then
      notify("no gpt-lsp client attached to this buffer", vim.log.levels.WARN)
      return
    end
    fn(client, bufnr, opts)
  end
end

-- The job a command without argument means: region under the cursor, else the latest.
function M.pick_job(bufnr, wanted)
  local cursor = vim.api.nvim_win_get_cursor(0)
  local row, col = cursor[1] - 1, cursor[2]
  local best, latest
  for _, job in pairs(M.jobs) do
    if job.bufnr == bufnr and wanted[job.status] then
      if not latest or job.seq > latest.seq then
        latest = job
      end
      if job.mark then
        local m = vim.api.nvim_buf_get_extmark_by_id(bufnr, ns, job.mark, { details = true })
        if m[1] then
          local d = m[3]
          local after_start = row > m[1] or (row == m[1] and col >= m[2])
          local before_end = row < d.end_row or (row == d.end_row and col <= d.end_col)
          if after_start and before_end and (not best or job.seq > best.seq) then
            best = job
          end
        end
      end
    end
  end
  return best or latest
end

-- :GptAccept / :GptReject / :GptCancel [jobId].
local function job_command(command, wanted, after)
  return with_client(function(client, bufnr, opts)
    local id = opts.args ~= "" and opts.args or nil
    if not id then
      local job = M.pick_job(bufnr, wanted)
      if not job then
        notify("no job to " .. command:gsub("^gptLsp%.", ""), vim.log.levels.WARN)
        return
      end
      id = job.id
    end
    M.exec(client, bufnr, command, { jobId = id }, function(result)
      local job = M.jobs[id]
      if job and type(result) == "table" and result.ok then
        after(job)
      end
    end)
  end)
end

local function decided(status)
  return function(job)
    job.status = status
    forget_mark(job)
  end
end

local function complete_actions()
  local ids = vim.deepcopy(ACTION_IDS)
  for _, action in ipairs((M.options.settings or {}).actions or {}) do
    if action.id and not vim.tbl_contains(ids, action.id) then
      ids[#ids + 1] = action.id
    end
  end
  return ids
end

local function create_commands()
  local cmd = vim.api.nvim_create_user_command
  cmd("GptChat", with_client(function(client, bufnr, opts)
    -- Capture the range now: vim.ui.input may return after the user moved.
    local range = command_range(bufnr, opts, client.offset_encoding)
    local function run(instruction)
      if instruction and instruction ~= "" then
        local arg = { uri = vim.uri_from_bufnr(bufnr), range = range, instruction = instruction }
        M.start(client, bufnr, "gptLsp.chat", arg, "AI: " .. instruction)
      end
    end
    if opts.args ~= "" then
      run(opts.args)
    else
      vim.ui.input({ prompt = "AI: " }, run)
    end
  end), { range = true, nargs = "*", desc = "gpt-lsp: rewrite the range following an instruction" })

  cmd("GptAction", with_client(function(client, bufnr, opts)
    local arg = {
      action = opts.args,
      uri = vim.uri_from_bufnr(bufnr),
      range = command_range(bufnr, opts, client.offset_encoding),
    }
    if opts.args == "fix" and vim.lsp.diagnostic.from then
      -- The fix action reads the diagnostics of the range, as a code action would send them.
      local diags = vim.diagnostic.get(bufnr)
      diags = vim.tbl_filter(function(d)
        return d.lnum >= opts.line1 - 1 and d.lnum <= opts.line2 - 1
      end, diags)
      arg.diagnostics = vim.lsp.diagnostic.from(diags)
    end
    M.start(client, bufnr, "gptLsp.run", arg, "AI: " .. opts.args)
  end), { range = true, nargs = 1, complete = complete_actions, desc = "gpt-lsp: run an AI action on the range" })

  local open = { running = true, done = true }
  cmd("GptAccept", job_command("gptLsp.accept", open, decided("accepted")),
    { nargs = "?", desc = "gpt-lsp: keep a job's text" })
  cmd("GptReject", job_command("gptLsp.reject", open, decided("rejected")),
    { nargs = "?", desc = "gpt-lsp: put back a job's original text" })
  cmd("GptCancel", job_command("gptLsp.cancel", { running = true }, function() end),
    { nargs = "?", desc = "gpt-lsp: stop a running job" })
end

-- Echoes the server's work-done progress (title and message) unless progress = false.
local function progress_autocmd()
  local group = vim.api.nvim_create_augroup("gpt_lsp_progress", { clear = true })
  vim.api.nvim_create_autocmd("LspProgress", {
    group = group,
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      local value = ev.data.params and ev.data.params.value
      if not client or client.name ~= NAME or type(value) ~= "table" or value.kind == "end" then
        return
      end
      local title = value.title or ""
      local text = title ~= "" and (title .. ": " .. (value.message or "")) or (value.message or "")
      vim.api.nvim_echo({ { text } }, false, {})
    end,
  })
end

-- Keys the server takes from user-level settings only: it ignores (and warns about) them in
-- the gptLsp configuration section, which a project can write.
local USER_ONLY = {
  baseUrl = true, backupUrls = true, relays = true, relay = true, apiKey = true,
  apiKeyEnv = true, headers = true, proxy = true,
  logContent = true, excludeDefaults = true, maskSecrets = true,
}

--- The settings without the user-only keys: the gptLsp section's answer.
local function section_settings(settings)
  local out = {}
  for key, value in pairs(settings) do
    if not USER_ONLY[key] then
      out[key] = value
    end
  end
  return next(out) and out or vim.empty_dict()
end

--- Sends new user-level settings to the running servers (they replace setup()'s).
function M.update_settings(settings)
  settings = settings or {}
  M.options.settings = settings
  for _, client in ipairs(vim.lsp.get_clients({ name = NAME })) do
    client.settings = { gptLsp = section_settings(settings) }
    -- The server re-reads the gptLsp section (from client.settings) as it takes these.
    client:notify("gptLsp/didChangeUserSettings", {
      settings = next(settings) and settings or vim.empty_dict(),
    })
  end
end

--- setup({ cmd?, settings?, filetypes?, root_markers?, progress?, notify? })
function M.setup(opts)
  opts = opts or {}
  M.options = opts
  local settings = opts.settings or {}
  vim.lsp.config(NAME, {
    cmd = opts.cmd or { "gpt-lsp" },
    cmd_env = opts.cmd_env,
    filetypes = opts.filetypes, -- nil: every buffer that has a filetype
    root_markers = opts.root_markers or { ".git" },
    -- An empty Lua table would travel as [] : send {} instead.
    -- User-level: only this channel may say where requests go and what they carry.
    init_options = next(settings) and settings or vim.empty_dict(),
    settings = { gptLsp = section_settings(settings) }, -- answers workspace/configuration
    handlers = { ["gptLsp/jobFinished"] = on_job_finished },
    -- Code actions run gptLsp.run through here, so their jobs are tracked like :GptAction's.
    commands = {
      ["gptLsp.run"] = function(command, ctx)
        local client = vim.lsp.get_client_by_id(ctx.client_id)
        local arg = command.arguments and command.arguments[1]
        if client and type(arg) == "table" then
          M.start(client, ctx.bufnr, "gptLsp.run", arg, command.title)
        end
      end,
    },
  })
  vim.lsp.enable(NAME)
  create_commands()
  if opts.progress ~= false then
    progress_autocmd()
  end
end

return M
