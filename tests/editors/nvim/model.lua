-- (g) :GptModel: without a name, vim.ui.select (stubbed) over the relay's models; with a name,
-- set directly; then a chat job, whose request the test reads at the simulator.
local H = dofile(vim.fs.dirname(_G.arg[0]) .. "/harness.lua")

local function answered(n)
  local records = vim.tbl_filter(function(r)
    return r.command == "gptLsp.selectModel"
  end, H.result.commands)
  H.wait(10000, function()
    return #records >= n and (records[n].result ~= nil or records[n].error ~= nil)
  end, "selectModel answer " .. n)
  return records[n]
end

H.run(function()
  H.stub_ui("unused")
  H.setup()
  local bufnr = H.open("model.py", H.cfg.source)

  vim.cmd("GptModel")
  H.result.listed = answered(1)
  H.result.picked = answered(2)

  vim.cmd("GptModel " .. H.cfg.named)
  H.result.named = answered(3)
  H.wait(5000, function()
    return H.last_notice() ~= nil and H.last_notice():find(H.cfg.named, 1, true) ~= nil
  end, "the notice naming the model")
  H.result.notice = H.last_notice()

  vim.cmd("3,4GptChat add type hints")
  local job = H.wait_job(1)
  H.wait_finished(bufnr, job)
  H.result.job = { status = job.status }
end)
