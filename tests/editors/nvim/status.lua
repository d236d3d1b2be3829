-- (h) :GptStatus before and after a job: relays and model, running jobs, today's and this
-- month's spend, as the server's gptLsp.status says them.
local H = dofile(vim.fs.dirname(_G.arg[0]) .. "/harness.lua")

-- Runs :GptStatus and returns the notice it printed.
local function status_notice()
  local before = #H.result.notices
  vim.cmd("GptStatus")
  H.wait(10000, function()
    return #H.result.notices > before and H.last_notice():find("^gpt%-lsp ") ~= nil
  end, "the :GptStatus notice")
  return H.last_notice()
end

H.run(function()
  H.stub_ui("unused")
  H.setup({ notify = false })
  local bufnr = H.open("status.py", H.cfg.source)
  H.result.before = status_notice()

  vim.cmd("3,4GptChat add type hints")
  local job = H.wait_job(1)
  H.wait_finished(bufnr, job)
  H.result.job = { status = job.status, summary = job.summary }
  H.result.after = status_notice()
end)
