-- gpt-lsp for Neovim 0.11+: starts the server, passes settings, adds a few commands.
-- Prompts, defaults and all job logic live in the server; this file only forwards.
local M = {}

local attach = require("gpt_lsp.attach")
local chat = require("gpt_lsp.chat")
local review = require("gpt_lsp.review")
local targets = require("gpt_lsp.targets")
local words = require("gpt_lsp.words")
local NAME = "gpt_lsp"

--- Options given to setup(), kept for :checkhealth.
M.options = {}
--- The server's gptLsp.status answer by client id, asked once (again after a settings
--- change): its actions ({ id, title, kind, output }) and the plugin's words.
local status_by_client = {}

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

-- The server's status, asked once per client (again after a settings change); the plugin's
-- words come with it.
local function server_status(client)
  local cached = status_by_client[client.id]
  if cached then
    return cached
  end
  local params = { command = "gptLsp.status", arguments = {} }
  local reply = client:request_sync("workspace/executeCommand", params, 3000)
  local status = reply and reply.result
  if type(status) ~= "table" then
    return {}
  end
  words.learn(status.strings)
  status_by_client[client.id] = status
  return status
end

--- The server's actions, asked once per client (again after a settings change).
function M.actions(client)
  local list = server_status(client).actions
  return type(list) == "table" and list or {}
end

--- The plugin's word for `key` in the client's UI language (see words.lua).
function M.say(client, key, fields)
  if client then
    server_status(client)
  end
  return words.say(key, fields)
end

-- A finished job: the server's one-line summary as is. A failure's reason came just before
-- as a message; the summary carries it too, so it stays readable (not replaced at once).
local function on_job_finished(_, params)
  if type(params) ~= "table" or M.options.notify == false then
    return
  end
  local text = params.summary or ("AI: " .. tostring(params.status))
  if params.message and params.status == "failed" then
    text = text .. ": " .. params.message
  elseif params.message then
    text = text .. " (" .. params.message .. ")"
  end
  local level = params.status == "done" and vim.log.levels.INFO
    or params.status == "failed" and vim.log.levels.ERROR
    or vim.log.levels.WARN
  vim.notify(text, level)
end

-- The buffer's client, waiting for one still starting (just after a file opened); nil, said
-- to the user, when there is none.
local function ready_client(bufnr)
  local client, starting = attach.wait_client(bufnr, 5000)
  if client then
    return client
  end
  local cmd = M.options.cmd or { "gpt-lsp" }
  local key = starting and "noActions" or "noClient"
  if type(cmd) == "table" and vim.fn.executable(cmd[1]) == 0 then
    key = "serverMissing"
  end
  notify(words.say(key), vim.log.levels.WARN)
  return nil
end

local function with_client(fn)
  return function(opts)
    local bufnr = vim.api.nvim_get_current_buf()
    local client = ready_client(bufnr)
    if client then
      fn(client, bufnr, opts)
    end
  end
end

--- vim.lsp.buf.code_action(opts) once a gpt-lsp client still starting is ready: just after a
--- file opens, Neovim's own `gra` finds no server for code actions yet.
function M.code_action(opts)
  attach.wait_client(vim.api.nvim_get_current_buf(), 5000)
  vim.lsp.buf.code_action(opts)
end

-- :GptAccept / :GptReject / :GptCancel [jobId]. Without an id they send the cursor's
-- position: the server picks the job whose region holds it, else the buffer's most recent job.
local function job_command(command, none_key)
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
        notify(M.say(client, none_key), vim.log.levels.WARN)
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

--- The lines :GptStatus prints: the server's own (relays and models, running jobs, today's
--- and this month's spend), in the UI language.
function M.status_lines(status)
  if type(status.lines) == "table" then
    return status.lines
  end
  return { "gpt-lsp " .. tostring(status.version) } -- a server older than its plugin
end

local function create_commands()
  local cmd = vim.api.nvim_create_user_command
  chat.commands(M, with_client, targets)
  cmd("GptChat", with_client(function(client, bufnr, opts)
    -- Without a range, inside a job under review: a follow-up turn of that job.
    local cursor = vim.lsp.util.make_position_params(0, client.offset_encoding).position
    local refine = opts.range == 0 and review.job_at(bufnr, cursor.line) ~= nil
    -- Capture the range now: vim.ui.input may return after the user moved.
    local range
    if opts.range > 0 then
      range = targets.lines(bufnr, opts, client.offset_encoding)
    elseif not refine then
      range = targets.chat(client, bufnr, opts)
    end
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
      vim.ui.input({ prompt = M.say(client, refine and "refinePrompt" or "chatPrompt") }, run)
    end
  end), { range = true, nargs = "*", desc = "gpt-lsp: rewrite the range (or write code at the cursor) following an instruction" })

  cmd("GptAction", with_client(function(client, bufnr, opts)
    -- Capture the range now: vim.ui.select may return after the user moved. No range: the
    -- cursor, and the server takes the definition around it, as the code actions there do.
    local range = opts.range > 0 and targets.lines(bufnr, opts, client.offset_encoding) or targets.cursor(client)
    local actions = M.actions(client)
    if opts.args == "" then
      vim.ui.select(actions, {
        prompt = M.say(client, "actionPrompt"),
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
          local text = M.say(client, "modelSet", { relay = result.relay, model = result.current })
          notify(text .. (result.message and (" (" .. result.message .. ")") or ""))
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
        local prompt = M.say(client, "modelInput", { current = listed.current })
        vim.ui.input({ prompt = prompt, default = listed.current }, function(model)
          set(listed.relay, model)
        end)
        return
      end
      vim.ui.select(listed.models, {
        prompt = M.say(client, "modelPrompt", { relay = listed.relay }),
        format_item = function(model)
          return model == listed.current and M.say(client, "modelCurrent", { model = model }) or model
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

  cmd("GptAccept", job_command("gptLsp.accept", "noJobAccept"),
    { nargs = "?", desc = "gpt-lsp: keep a job's text" })
  cmd("GptReject", job_command("gptLsp.reject", "noJobReject"),
    { nargs = "?", desc = "gpt-lsp: put back a job's original text" })
  cmd("GptCancel", job_command("gptLsp.cancel", "noJobCancel"),
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
        status_by_client[ev.data.client_id] = nil
      end
    end,
  })
  vim.api.nvim_create_autocmd("LspDetach", {
    group = group,
    callback = function(ev)
      status_by_client[ev.data.client_id] = nil
    end,
  })
end

-- Keys the server takes from user-level settings only: it ignores (and warns about) them in
-- the gptLsp configuration section, which a project can write.
-- BEGIN user-only keys (written by scripts/shim_settings.py from settings/models.py)
local USER_ONLY = {
  baseUrl = true, backupUrls = true, relays = true, relay = true, apiKey = true,
  apiKeyEnv = true, headers = true, proxy = true, budget = true, logContent = true,
  excludeDefaults = true, maskSecrets = true, completion = true,
}
-- END user-only keys

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
    notify(words.say(on and "completionOn" or "completionOff"))
  end, {
    nargs = "?",
    complete = function()
      return { "on", "off" }
    end,
    desc = "gpt-lsp: turn AI completion (ghost text) on or off",
  })
end

--- setup({ cmd?, settings?, filetypes?, root_markers?, progress?, notify?, review_keys?, accept_key?,
--- chat_reply_key? })
function M.setup(opts)
  opts = opts or {}
  M.options = opts
  if opts.chat_reply_key ~= nil then
    chat.reply_key = opts.chat_reply_key -- false: none
  end
  if opts.review_keys ~= nil then
    review.keys = opts.review_keys or {} -- false: no keys
  end
  local settings = opts.settings or {}
  vim.lsp.config(NAME, {
    cmd = opts.cmd or { "gpt-lsp" },
    cmd_env = opts.cmd_env,
    filetypes = opts.filetypes, -- nil: every buffer that has a filetype
    -- One server per project root; notes and chat documents go to the client that showed them.
    root_dir = attach.root_dir(opts.root_markers or { ".git" }),
    -- An empty Lua table would travel as [] : send {} instead.
    -- User-level: only this channel may say where requests go and what they carry.
    init_options = next(settings) and settings or vim.empty_dict(),
    settings = { gptLsp = section_settings(settings) }, -- answers workspace/configuration
    handlers = {
      ["gptLsp/jobFinished"] = on_job_finished,
      ["gptLsp/review"] = review.handler(M.exec),
      ["workspace/applyEdit"] = review.apply_edit,
      ["window/showDocument"] = attach.show_document,
      ["gptLsp/chatReplied"] = chat.on_replied,
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
