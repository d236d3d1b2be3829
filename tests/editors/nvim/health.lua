-- (f) :checkhealth gpt_lsp, once with a relay in the settings and a client running.
local H = dofile(vim.fs.dirname(_G.arg[0]) .. "/harness.lua")

H.run(function()
  H.stub_ui()
  H.setup()
  H.open("health.py", "x = 1\n")
  vim.cmd("checkhealth gpt_lsp")
  -- The report is a buffer of its own; give it time to fill.
  local report = ""
  H.wait(15000, function()
    report = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
    return report:find("relay") ~= nil
  end, "the health report")
  H.result.report = report
end)
