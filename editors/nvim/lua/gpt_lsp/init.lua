-- gpt-lsp for Neovim 0.11+: starts the server, passes settings, adds a few commands.
-- Prompts, defaults and all job logic live in the server; this file only forwards.
local M = {}

local review = require("gpt_lsp.review")
local NAME = "gpt_lsp"

--- Options given to setup(), kept for :checkhealth.
M.options = {}
--- The server's actions ({ id, title, kind, output }) by client id, from gptLsp.status.
local actions_by_client = {}

local function notify(msg, level)
  vim.notify("gpt-lsp: " .. msg, level or vim.log.levels.INFO)
end

--- The gpt-lsp client attached to a buffer, if any.
function M.client(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr or 0, name = NAME })[1]
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

--- The server's actions, asked once per client (again after a settings change).
function M.actions(client)
  local cached = actions_by_client[client.id]
  if cached then
    return cached
  end
  local params = { command = "gptLsp.status", arguments = {} }
  local reply = client:request_sync("workspace/executeCommand", params, 3000)
  local list = reply and type(reply.result) == "table" and reply.result.actions
  if type(list) ~= "table" then
    return {}
  end
  actions_by_client[client.id] = list
  return list
end

-- A finished job: the server's one-line summary as is (errors came as showMessage).
local function on_job_finished(_, params)
  if type(params) ~= "table" or M.options.notify == false then
    return
  end
  local text = params.summary or ("AI: " .. tostring(params.status))
  if params.message and params.status ~= "failed" then
    text = text .. " (" .. params.message .. ")"
  end
  vim.notify(text, params.status == "done" and vim.log.levels.INFO or vim.log.levels.WARN)
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

-- :GptAccept / :GptReject / :GptCancel [jobId]. Without an id they send the cursor's
-- position: the server picks the job whose region holds it, else the buffer's most recent job.
local function job_command(command, verb)
  return with_client(function(client, bufnr, opts)
    local arg
    if opts.args ~= "" then
      arg = { jobId = opts.args }
    else
      local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
      arg = { uri = params.textDocument.uri, position = params.position }
    end
    M.exec(client, bufnr, command, arg, function(result)
      if type(result) ~= "table" or result.ok ~= true then
        notify("no job to " .. verb .. " at the cursor or in this buffer", vim.log.levels.WARN)
      end
    end)
  end)
end

local function complete_actions(arglead)
  local client = M.client(0)
  local ids = {}
  for _, action in ipairs(client and M.actions(client) or {}) do
    if vim.startswith(action.id, arglead) then
      ids[#ids + 1] = action.id
    end
  end
  return ids
end

-- Runs an action on a range; the quickfix ones also get the diagnostics of its lines, as a code
-- action would send them.
local function run_action(client, bufnr, opts, range, action)
  local arg = { action = action.id, uri = vim.uri_from_bufnr(bufnr), range = range }
  if vim.startswith(action.kind or "", "quickfix") and vim.lsp.diagnostic.from then
    local diags = vim.tbl_filter(function(d)
      return d.lnum >= opts.line1 - 1 and d.lnum <= opts.line2 - 1
    end, vim.diagnostic.get(bufnr))
    arg.diagnostics = vim.lsp.diagnostic.from(diags)
  end
  M.exec(client, bufnr, "gptLsp.run", arg)
end

-- One line of spend from gptLsp.status usage.today / usage.month.
local function spend_line(label, s)
  if type(s) ~= "table" then
    return label .. ": unknown (no usage ledger)"
  end
  local quota = (s.quota or 0) > 0 and (" (" .. s.quota .. " quota)") or ""
  local count = s.requests or 0
  local requests = count .. (count == 1 and " request" or " requests")
  local unpriced = (s.unpriced or 0) > 0 and (", " .. s.unpriced .. " without a price (not in the cost)") or ""
  return string.format("%s: $%.4f%s, %s, %d tokens%s", label, s.costUsd or 0, quota, requests, s.tokens or 0, unpriced)
end

--- The lines :GptStatus prints from a gptLsp.status answer: relays and models, running jobs,
--- today's and this month's spend.
function M.status_lines(status)
  local lines = { "gpt-lsp " .. tostring(status.version) }
  for _, relay in ipairs(status.relays or {}) do
    lines[#lines + 1] = string.format("relay %s%s: %s, model %s", relay.name, relay.default and " (default)" or "",
      relay.url, relay.model)
  end
  local jobs = vim.tbl_filter(function(job)
    return job.status == "running"
  end, status.jobs or {})
  if #jobs == 0 then
    lines[#lines + 1] = "jobs: none running"
  end
  for _, job in ipairs(jobs) do
    lines[#lines + 1] = string.format("job %s %s running (%d tokens) %s", job.jobId, job.action, job.tokens or 0,
      vim.uri_to_fname(job.uri))
  end
  local usage = status.usage or {}
  lines[#lines + 1] = spend_line("today", usage.today)
  lines[#lines + 1] = spend_line("this month", usage.month)
  return lines
end

local function create_commands()
  local cmd = vim.api.nvim_create_user_command
  cmd("GptChat", with_client(function(client, bufnr, opts)
    -- Capture the range now: vim.ui.input may return after the user moved.
    local range = command_range(bufnr, opts, client.offset_encoding)
    -- Without a range, inside a job under review: a follow-up turn of that job.
    local cursor = vim.lsp.util.make_position_params(0, client.offset_encoding).position
    local refine = opts.range == 0 and review.job_at(bufnr, cursor.line) ~= nil
    local function run(instruction)
      if instruction and instruction ~= "" then
        local arg = { uri = vim.uri_from_bufnr(bufnr), range = range, instruction = instruction }
        if refine then
          arg = { uri = arg.uri, position = cursor, instruction = instruction }
        end
        M.exec(client, bufnr, "gptLsp.chat", arg)
      end
    end
    if opts.args ~= "" then
      run(opts.args)
    else
      vim.ui.input({ prompt = refine and "AI (refine): " or "AI: " }, run)
    end
  end), { range = true, nargs = "*", desc = "gpt-lsp: rewrite the range following an instruction" })

  cmd("GptAction", with_client(function(client, bufnr, opts)
    -- Capture the range now: vim.ui.select may return after the user moved.
    local range = command_range(bufnr, opts, client.offset_encoding)
    local actions = M.actions(client)
    if opts.args == "" then
      vim.ui.select(actions, {
        prompt = "AI action",
        format_item = function(action)
          return action.title
        end,
      }, function(action)
        if action then
          run_action(client, bufnr, opts, range, action)
        end
      end)
      return
    end
    local action = vim.iter(actions):find(function(a)
      return a.id == opts.args
    end)
    -- An id the server did not list: the server answers why it refuses it.
    run_action(client, bufnr, opts, range, action or { id = opts.args })
  end), { range = true, nargs = "?", complete = complete_actions, desc = "gpt-lsp: run an AI action on the range" })

  -- :GptModel [name]: sets the default relay's model for the session; without a name, picks
  -- from the relay's list (vim.ui.select), or asks (vim.ui.input) when it lists none.
  cmd("GptModel", with_client(function(client, bufnr, opts)
    local function set(relay, model)
      if model and model ~= "" then
        M.exec(client, bufnr, "gptLsp.selectModel", { relay = relay, model = model }, function(result)
          notify(result.relay .. " relay: " .. result.current .. (result.message and (" (" .. result.message .. ")") or ""))
        end)
      end
    end
    if opts.args ~= "" then
      set(nil, opts.args)
      return
    end
    -- No argument, not {}: an empty Lua table is encoded as a JSON list.
    M.exec(client, bufnr, "gptLsp.selectModel", nil, function(listed)
      if #listed.models == 0 then
        vim.ui.input({ prompt = "Model (" .. listed.message .. "): ", default = listed.current }, function(model)
          set(listed.relay, model)
        end)
        return
      end
      vim.ui.select(listed.models, {
        prompt = "Model for the " .. listed.relay .. " relay",
        format_item = function(model)
          return model == listed.current and (model .. " (current)") or model
        end,
      }, function(model)
        set(listed.relay, model)
      end)
    end)
  end), { nargs = "?", desc = "gpt-lsp: choose the model of the relay's jobs" })

  -- :GptStatus: what the server says now (asked each time; the plugin keeps no state).
  cmd("GptStatus", with_client(function(client, bufnr)
    M.exec(client, bufnr, "gptLsp.status", nil, function(status)
      vim.notify(table.concat(M.status_lines(status), "\n"), vim.log.levels.INFO)
    end)
  end), { desc = "gpt-lsp: relays, models, running jobs, today's and this month's spend" })

  cmd("GptAccept", job_command("gptLsp.accept", "accept"),
    { nargs = "?", desc = "gpt-lsp: keep a job's text" })
  cmd("GptReject", job_command("gptLsp.reject", "reject"),
    { nargs = "?", desc = "gpt-lsp: put back a job's original text" })
  cmd("GptCancel", job_command("gptLsp.cancel", "cancel"),
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

-- The actions are asked again after a settings change (they may add some) or a restart.
local function actions_autocmd()
  local group = vim.api.nvim_create_augroup("gpt_lsp_actions", { clear = true })
  vim.api.nvim_create_autocmd("LspNotify", {
    group = group,
    callback = function(ev)
      local method = ev.data.method
      if method == "workspace/didChangeConfiguration" or method == "gptLsp/didChangeUserSettings" then
        actions_by_client[ev.data.client_id] = nil
      end
    end,
  })
  vim.api.nvim_create_autocmd("LspDetach", {
    group = group,
    callback = function(ev)
      actions_by_client[ev.data.client_id] = nil
    end,
  })
end

-- Keys the server takes from user-level settings only: it ignores (and warns about) them in
-- the gptLsp configuration section, which a project can write.
local USER_ONLY = {
  baseUrl = true, backupUrls = true, relays = true, relay = true, apiKey = true,
  apiKeyEnv = true, headers = true, proxy = true,
  logContent = true, excludeDefaults = true, maskSecrets = true,
  completion = true, -- whether it runs, where it goes and what it costs are the user's
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

-- Inline completion (Neovim 0.12 vim.lsp.inline_completion): ghost text while the settings'
-- completion.enabled is true (:GptCompletion on|off changes it for the session).
local function completion_enabled()
  local completion = (M.options.settings or {}).completion
  return type(completion) == "table" and completion.enabled == true
end

local function sync_completion(client)
  local inline = vim.lsp.inline_completion
  if inline and inline.enable then
    inline.enable(completion_enabled(), { client_id = client.id })
  end
end

--- Accepts the ghost text; false when there is none (the key then does what it did).
function M.accept_completion()
  local inline = vim.lsp.inline_completion
  return inline ~= nil and inline.get ~= nil and inline.get()
end

local function completion_setup(opts)
  local group = vim.api.nvim_create_augroup("gpt_lsp_completion", { clear = true })
  vim.api.nvim_create_autocmd("LspAttach", {
    group = group,
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      if client and client.name == NAME then
        sync_completion(client)
      end
    end,
  })
  local key = opts.accept_key == nil and "<Tab>" or opts.accept_key
  if key then
    vim.keymap.set("i", key, function()
      if not M.accept_completion() then
        return vim.api.nvim_replace_termcodes(key, true, false, true)
      end
    end, { expr = true, desc = "gpt-lsp: accept the AI suggestion" })
  end
  vim.api.nvim_create_user_command("GptCompletion", function(args)
    local on = args.args == "on" or (args.args == "" and not completion_enabled())
    local settings = vim.deepcopy(M.options.settings or {})
    settings.completion = vim.tbl_extend("force", settings.completion or {}, { enabled = on })
    M.update_settings(settings)
    for _, client in ipairs(vim.lsp.get_clients({ name = NAME })) do
      sync_completion(client)
    end
    notify("AI completion " .. (on and "on" or "off"))
  end, {
    nargs = "?",
    complete = function()
      return { "on", "off" }
    end,
    desc = "gpt-lsp: turn AI completion (ghost text) on or off",
  })
end

--- setup({ cmd?, settings?, filetypes?, root_markers?, progress?, notify?, review_keys?, accept_key? })
function M.setup(opts)
  opts = opts or {}
  M.options = opts
  if opts.review_keys ~= nil then
    review.keys = opts.review_keys or {} -- false: no keys
  end
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
    handlers = {
      ["gptLsp/jobFinished"] = on_job_finished,
      ["gptLsp/review"] = review.handler(M.exec),
      ["workspace/applyEdit"] = review.apply_edit,
    },
    -- Code actions run gptLsp.run through here, so a refusal shows like :GptAction's.
    commands = {
      ["gptLsp.run"] = function(command, ctx)
        local client = vim.lsp.get_client_by_id(ctx.client_id)
        local arg = command.arguments and command.arguments[1]
        if client and type(arg) == "table" then
          M.exec(client, ctx.bufnr, "gptLsp.run", arg)
        end
      end,
    },
  })
  vim.lsp.enable(NAME)
  create_commands()
  completion_setup(opts)
  actions_autocmd()
  if opts.progress ~= false then
    progress_autocmd()
  end
end

return M
