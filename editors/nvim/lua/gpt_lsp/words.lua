-- The plugin's own words (prompts, picker titles, notices) in the UI language: the server
-- translates them and sends them with gptLsp.status (`strings`); English until it has.
local M = {}

-- What the server's catalog says in English (gpt_lsp/session/display.py SHIM_STRINGS).
local ENGLISH = {
  chatPrompt = "AI: ",
  refinePrompt = "AI (follow-up): ",
  actionPrompt = "AI action",
  modelPrompt = "Model for the {relay} relay",
  modelInput = "Model (now {current}): ",
  modelSet = "{relay} relay: {model}",
  modelCurrent = "{model} (current)",
  noClient = "no gpt-lsp client attached to this buffer",
  noJobAccept = "no AI job to accept at the cursor or in this buffer",
  noJobReject = "no AI job to reject at the cursor or in this buffer",
  noJobCancel = "no AI job to cancel at the cursor or in this buffer",
  noActions = "no AI actions here yet: the server is still starting",
  completionOn = "AI completion on",
  completionOff = "AI completion off",
  serverMissing = "gpt-lsp not found: install it (see the README) or set its path",
  chatPick = "Chat to open",
  noChats = "no chats in this workspace yet",
}

--- The last strings a server sent.
local said = {}

--- Takes the `strings` of a gptLsp.status answer.
function M.learn(strings)
  if type(strings) == "table" then
    said = strings
  end
end

--- The text of `key` with its `{name}` fields filled from `fields`.
function M.say(key, fields)
  local text = said[key] or ENGLISH[key] or key
  for name, value in pairs(fields or {}) do
    text = text:gsub("{" .. name .. "}", function()
      return tostring(value)
    end)
  end
  return text
end

return M
