-- The user types above and below the job's region while the answer streams in: Neovim
-- debounces didChange (150 ms) and skips stale versioned edits while answering applied:true.
local H = dofile(vim.fs.dirname(_G.arg[0]) .. "/harness.lua")

-- One keystroke: a character at the end of the first and of the last line, or (lines mode)
-- a new line on top, as pressing O<Esc> on line 1 would.
local function keystroke(bufnr)
  if H.cfg.mode == "lines" then
    vim.api.nvim_buf_set_lines(bufnr, 0, 0, false, { "#" })
    return
  end
  local first = vim.api.nvim_buf_get_lines(bufnr, 0, 1, false)[1]
  vim.api.nvim_buf_set_text(bufnr, 0, #first, 0, #first, { "a" })
  local last_row = vim.api.nvim_buf_line_count(bufnr) - 1
  local last = vim.api.nvim_buf_get_lines(bufnr, last_row, last_row + 1, false)[1]
  vim.api.nvim_buf_set_text(bufnr, last_row, #last, last_row, #last, { "z" })
end

H.run(function()
  H.stub_ui()
  H.setup()
  local bufnr = H.open("keys.py", H.cfg.source)
  local before = H.text(bufnr)
  vim.cmd("3,4GptAction refactor")
  local job = H.wait_job(1)
  if not H.cfg.early then
    H.wait(10000, function() return H.text(bufnr) ~= before end, "streaming to start")
  end
  -- A user typing steadily: a keystroke every `interval` ms, faster than the 150 ms debounce.
  local typed = 0
  local timer = vim.uv.new_timer()
  timer:start(0, H.cfg.interval, vim.schedule_wrap(function()
    if typed >= H.cfg.keystrokes or job.status ~= "running" then
      timer:stop()
      return
    end
    typed = typed + 1
    keystroke(bufnr)
  end))
  H.wait_finished(bufnr, job, 20000)
  timer:stop()
  timer:close()
  H.result.typed = typed
  H.result.status = job.status
  H.result.final = H.text(bufnr)
end)
