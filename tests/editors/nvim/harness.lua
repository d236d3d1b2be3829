-- Shared helpers for the headless Neovim tests (run with `nvim -l SCRIPT CONFIG.json`).
-- Each script records what it saw in H.result; pytest reads the JSON written by H.finish.
local H = {}

H.cfg = vim.json.decode(table.concat(vim.fn.readfile(_G.arg[1]), "\n"))
H.result = { log = {}, progress = {}, notices = {}, commands = {} }
-- Jobs as the test sees them (the plugin keeps none): started from {jobId} answers, in order,
-- and updated by gptLsp/jobFinished.
H.started, H.jobs, H.reviews = {}, {}, {}

function H.log(...)
  H.result.log[#H.result.log + 1] = table.concat(vim.tbl_map(tostring, { ... }), " ")
end

-- Writes the result and leaves; the OK marker is the file, never the exit code.
function H.finish(ok, err)
  H.result.ok = ok
  H.result.error = err
  -- Every gpt-lsp client (a flow may have started a second one by mistake).
  local clients = vim.lsp.get_clients({ name = "gpt_lsp", _uninitialized = true })
  for _, client in ipairs(clients) do
    client:stop()
  end
  -- A client object lingers until its server has exited: wait for them to go.
  vim.wait(5000, function()
    return #vim.lsp.get_clients({ name = "gpt_lsp", _uninitialized = true }) == 0
  end, 20)
  H.result.client_gone = #vim.lsp.get_clients({ name = "gpt_lsp", _uninitialized = true }) == 0
  vim.fn.writefile({ vim.json.encode(H.result) }, H.cfg.out)
  os.exit(ok and 0 or 1)
end

-- Runs the scenario; any Lua error becomes a failed result instead of a hung or silent exit.
function H.run(fn)
  local ok, err = xpcall(fn, debug.traceback)
  H.finish(ok, not ok and tostring(err) or nil)
end

-- Main-loop mode (`nvim -c "luafile SCRIPT"`, see run_nvim(mainloop=True)): the scenario runs
-- in a coroutine and H.wait yields to Neovim's main loop, which then waits for input between
-- events as it does for a user (and so closes an undo block after each change, as for a user).
function H.run_async(fn, timeout_ms)
  -- Headless, messages pile up on one screen: a -- More -- prompt there would swallow the
  -- typed keys (`g`, `G`) and stop the loop; a user's UI clears each echo instead.
  vim.o.more = false
  H.async = coroutine.create(function()
    local ok, err = xpcall(fn, debug.traceback)
    H.finish(ok, not ok and tostring(err) or nil)
  end)
  vim.defer_fn(function()
    H.finish(false, "watchdog: the scenario took over " .. (timeout_ms or 60000) .. " ms")
  end, timeout_ms or 60000)
  vim.schedule(function()
    assert(coroutine.resume(H.async))
  end)
end

function H.wait(ms, cond, what)
  local co = coroutine.running()
  if co ~= nil and co == H.async then
    local deadline = vim.uv.now() + ms
    while not cond() do
      if vim.uv.now() > deadline then
        error("timed out after " .. ms .. " ms waiting for " .. what, 2)
      end
      vim.defer_fn(function()
        assert(coroutine.resume(co))
      end, 10)
      coroutine.yield()
    end
    return
  end
  if not vim.wait(ms, cond, 10) then
    error("timed out after " .. ms .. " ms waiting for " .. what, 2)
  end
end

-- No UI here: prompts must never wait on stdin.
function H.stub_ui(answer)
  H.result.prompts = {}
  vim.ui.input = function(opts, on_confirm)
    H.result.input_asked = true
    H.result.prompts[#H.result.prompts + 1] = opts.prompt
    on_confirm(answer)
  end
  -- Picks the item labelled H.cfg.pick, if any, and records the labels offered.
  vim.ui.select = function(items, opts, on_choice)
    H.result.select_asked = #items
    H.result.select_labels = vim.tbl_map(opts.format_item or tostring, items)
    H.result.prompts[#H.result.prompts + 1] = opts.prompt
    local picked = nil
    for i, label in ipairs(H.result.select_labels) do
      if label == H.cfg.pick then
        picked = items[i]
      end
    end
    on_choice(picked)
  end
  vim.notify = function(msg, level)
    H.result.notices[#H.result.notices + 1] = { msg = msg, level = level }
  end
end

-- Loads the plugin from the worktree and records LspProgress for the server.
function H.setup(extra)
  if H.cfg.lsp_log then
    vim.lsp.log.set_level("debug") -- the JSON-RPC traffic, in $XDG_STATE_HOME/nvim/lsp.log
  end
  vim.opt.runtimepath:prepend(H.cfg.plugin_dir)
  vim.cmd("filetype on") -- as in a user's Neovim (-u NONE leaves detection off)
  local opts = vim.tbl_extend("force", {
    cmd = H.cfg.cmd,
    settings = H.cfg.settings,
    filetypes = { "python" },
  }, extra or {})
  if H.cfg.all_filetypes then
    opts.filetypes = nil -- the default: every buffer that has a filetype
  end
  require("gpt_lsp").setup(opts)
  vim.api.nvim_create_autocmd("LspProgress", {
    callback = function(ev)
      local v = ev.data.params.value
      H.result.progress[#H.result.progress + 1] = { kind = v.kind, title = v.title, message = v.message }
    end,
  })
end

-- Records what the plugin sends with workspace/executeCommand and what the server answers,
-- and every gptLsp/jobFinished before the plugin's own handler shows it.
local function observe(client)
  local request = client.request
  client.request = function(self, method, params, handler, bufnr)
    if method ~= "workspace/executeCommand" then
      return request(self, method, params, handler, bufnr)
    end
    local record = { command = params.command, argument = params.arguments[1] }
    H.result.commands[#H.result.commands + 1] = record
    return request(self, method, params, function(err, result, ...)
      record.result, record.error = result, err and err.message
      if type(result) == "table" and result.jobId and not H.jobs[result.jobId] then
        H.jobs[result.jobId] = { id = result.jobId, status = "running" }
      end
      if type(result) == "table" and result.jobId then
        H.started[#H.started + 1] = H.jobs[result.jobId]
      end
      if handler then
        return handler(err, result, ...)
      end
    end, bufnr)
  end
  -- What the server said of each job's review (running, pending, ended and its outcome).
  local review = client.handlers["gptLsp/review"]
  client.handlers["gptLsp/review"] = function(err, params, ...)
    H.reviews[#H.reviews + 1] = { jobId = params.jobId, status = params.status, outcome = params.outcome }
    return review(err, params, ...)
  end
  local finished = client.handlers["gptLsp/jobFinished"]
  client.handlers["gptLsp/jobFinished"] = function(err, params, ...)
    -- jobFinished may arrive before the command's {jobId} answer for a very short job.
    local job = H.jobs[params.jobId] or { id = params.jobId }
    H.jobs[params.jobId] = job
    job.status, job.summary = params.status, params.summary
    return finished(err, params, ...)
  end
end

-- Opens a file holding `text` as a python buffer and waits for the client to attach.
function H.open(name, text)
  if H.cfg.git then
    vim.fn.mkdir(H.cfg.workdir .. "/.git", "p") -- a project root, as `git init` leaves one
  end
  local path = H.cfg.workdir .. "/" .. name
  vim.fn.writefile(vim.split(text, "\n", { plain = true }), path, "b")
  vim.cmd.edit(vim.fn.fnameescape(path))
  vim.bo.filetype = "python"
  local bufnr = vim.api.nvim_get_current_buf()
  H.wait(15000, function()
    local c = require("gpt_lsp").client(bufnr)
    return c ~= nil and c.initialized == true
  end, "the gpt-lsp client to attach")
  local client = require("gpt_lsp").client(bufnr)
  if H.client_id ~= client.id then
    observe(client)
  end
  H.client_id = client.id
  H.result.offset_encoding = client.offset_encoding
  return bufnr, client
end

-- The buffer as the file would be written (Neovim keeps the final newline in 'eol').
function H.text(bufnr)
  local text = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), "\n")
  return vim.bo[bufnr].eol and text .. "\n" or text
end

-- The count-th job started (1 = the first), once the server has answered its {jobId}.
function H.wait_job(count)
  count = count or 1
  H.wait(5000, function()
    return #H.started >= count
  end, "a jobId")
  return H.started[count]
end

-- The answer to the last executeCommand of `command` sent so far: { command, argument, result }.
function H.wait_command(command)
  local record
  for _, r in ipairs(H.result.commands) do
    if r.command == command then
      record = r
    end
  end
  assert(record, command .. " was never sent")
  H.wait(5000, function()
    return record.result ~= nil or record.error ~= nil
  end, "the answer to " .. command)
  return record
end

-- How a job's review ended ("undone", "accepted", ...) once the server said so.
function H.wait_outcome(job_id, ms)
  local outcome
  H.wait(ms or 5000, function()
    for _, r in ipairs(H.reviews) do
      if r.jobId == job_id and r.status == "ended" then
        outcome = r.outcome
      end
    end
    return outcome ~= nil
  end, "the end of " .. job_id .. "'s review")
  return outcome
end

-- A round trip to the server: whatever it sent before its answer (an edit) has been handled.
function H.round_trip()
  local client = assert(vim.lsp.get_client_by_id(H.client_id))
  local done = false
  client:request("workspace/executeCommand", { command = "gptLsp.status", arguments = {} }, function()
    done = true
  end)
  H.wait(5000, function() return done end, "the server's answer")
end

-- Waits up to `ms` for cond without failing: the caller records what it then sees.
function H.settle(ms, cond)
  pcall(H.wait, ms, cond, "")
end

-- Main-loop mode only: lets Neovim run for `ms` (a user's pause between keys).
function H.pause(ms)
  local co = coroutine.running()
  assert(co ~= nil and co == H.async, "H.pause needs H.run_async")
  vim.defer_fn(function()
    assert(coroutine.resume(co))
  end, ms)
  coroutine.yield()
end

-- Main-loop mode only: keys as a user presses them (nvim_input, all at once: Neovim runs no
-- events while a command waits for its next key), then waits until Neovim has read them (and
-- is back in Normal mode when `normal`).
function H.keys(keys, normal)
  vim.api.nvim_input(keys)
  H.wait(5000, function()
    local mode = vim.api.nvim_get_mode()
    return not mode.blocking and (not normal or mode.mode == "n")
  end, "Neovim to read " .. keys)
  H.pause(0) -- one more turn of the loop: the last key's change is in
end

-- Main-loop mode only: text typed in Insert mode one character every `interval` ms, as a
-- user types it (events, such as the server's edits, run in between).
function H.type(text, interval)
  local i = 1
  while i <= #text do
    local stop = i + vim.str_utf_end(text, i)
    vim.api.nvim_input(text:sub(i, stop))
    i = stop + 1
    H.pause(interval)
  end
end

-- The last thing vim.notify showed.
function H.last_notice()
  local last = H.result.notices[#H.result.notices]
  return last and last.msg
end

-- Waits for the job to end, recording each distinct text the buffer showed meanwhile.
function H.wait_finished(bufnr, job, ms)
  local seen, last = {}, H.text(bufnr)
  H.wait(ms or 15000, function()
    local now = H.text(bufnr)
    if now ~= last then
      seen[#seen + 1] = now
      last = now
    end
    return job.status ~= "running"
  end, "gptLsp/jobFinished")
  return seen
end

return H
