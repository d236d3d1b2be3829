-- setup{settings} are user-level: the gptLsp section the shim answers leaves out the keys only
-- the user may set (no warning), and update_settings() moves the server to another relay.
local H = dofile(vim.fs.dirname(_G.arg[0]) .. "/harness.lua")

local function relay_url(client)
  local reply = client:request_sync("workspace/executeCommand", { command = "gptLsp.status", arguments = {} }, 5000)
  local relays = reply and reply.result and reply.result.relays or {}
  for _, relay in ipairs(relays) do
    if relay.default then
      return relay.url
    end
  end
end

H.run(function()
  H.stub_ui(nil)
  H.setup()
  local bufnr, client = H.open("user.py", H.cfg.source)
  H.result.section = client.settings.gptLsp

  vim.cmd("3,4GptChat " .. H.cfg.instruction)
  local first = H.wait_job(1)
  H.wait_finished(bufnr, first)
  H.result.first = first.status
  vim.cmd("GptAccept")
  local accepted = H.wait_command("gptLsp.accept")
  assert(accepted.result and accepted.result.ok == true, "the job was not accepted")

  require("gpt_lsp").update_settings(H.cfg.second_settings)
  -- Polled by hand: request_sync inside a vim.wait condition nests event loops.
  local moved = false
  for _ = 1, 100 do
    moved = relay_url(client) == H.cfg.second_url
    if moved then
      break
    end
    vim.wait(50)
  end
  assert(moved, "the server did not move to the new relay")
  vim.cmd("3,4GptChat " .. H.cfg.instruction)
  local second = H.wait_job(2)
  H.wait_finished(bufnr, second)
  H.result.second = second.status
end)
