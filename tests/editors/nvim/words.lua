-- The plugin's own words in the UI language: prompts, picker titles, notices and :GptStatus
-- lines, each as the user meets it.
local H = dofile(vim.fs.dirname(_G.arg[0]) .. "/harness.lua")

local function notice_after(fn)
  local before = #H.result.notices
  fn()
  H.wait(5000, function() return #H.result.notices > before end, "a notice")
  return H.last_notice()
end

H.run(function()
  H.stub_ui(nil) -- every prompt is dismissed: nothing runs
  H.setup()
  local bufnr = H.open("words.py", H.cfg.source)
  local said = {}
  vim.cmd("GptChat") -- outside any job: the chat prompt
  vim.cmd("GptAction") -- the action picker
  said.accept = notice_after(function() vim.cmd("GptAccept") end)
  said.reject = notice_after(function() vim.cmd("GptReject") end)
  said.cancel = notice_after(function() vim.cmd("GptCancel") end)
  said.status = notice_after(function() vim.cmd("GptStatus") end)
  vim.cmd("GptModel") -- the model picker, the current model marked
  H.wait(5000, function() return #H.result.prompts >= 3 end, "the model picker")
  said.model = notice_after(function() vim.cmd("GptModel other-model") end)
  said.completion = notice_after(function() vim.cmd("GptCompletion off") end)
  H.result.said = said
  H.result.text = H.text(bufnr)
end)
