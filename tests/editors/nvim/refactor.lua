-- (a) an AI: Refactor code action streams in; (d) its progress reaches LspProgress.
local H = dofile(vim.fs.dirname(_G.arg[0]) .. "/harness.lua")

H.run(function()
  H.stub_ui()
  H.setup()
  local bufnr = H.open("app.py", H.cfg.source)
  -- apply=true runs the single action the filter keeps, as a user picking it would.
  vim.lsp.buf.code_action({
    apply = true,
    range = H.cfg.range,
    filter = function(action)
      return action.title == (H.cfg.title or "AI: Refactor")
    end,
  })
  local job = H.wait_job()
  H.result.intermediate = H.wait_finished(bufnr, job)
  H.result.status = job.status
  H.result.summary = job.summary
  H.result.final = H.text(bufnr)
end)
