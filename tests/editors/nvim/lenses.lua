-- What a user sees while a job streams (main loop): samples, every 30 ms until it is done,
-- the code lenses drawn (virtual text) and the rows the new-text highlight covers.
local H = dofile(vim.fs.dirname(_G.arg[0]) .. "/harness.lua")
local review

-- The lens titles drawn in the buffer now (Neovim's virtual text, as the user sees it).
local function lenses_drawn(bufnr, client_id)
  local ns = vim.lsp.codelens.__namespaces[client_id]
  local titles = {}
  for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, { details = true })) do
    for _, chunk in ipairs(mark[4].virt_text or {}) do
      if vim.startswith(chunk[1], "AI: ") then
        titles[#titles + 1] = chunk[1]
      end
    end
  end
  return titles
end

-- The rows highlighted as new text (DiffAdd).
local function highlighted(bufnr)
  local rows = {}
  for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(bufnr, review.namespace, 0, -1, { details = true })) do
    if mark[4].hl_group == "DiffAdd" then
      -- A highlight ending at a line's first column does not cover that line.
      local last = mark[4].end_col == 0 and mark[4].end_row > mark[2] and mark[4].end_row - 1 or mark[4].end_row
      for row = mark[2], last do
        rows[#rows + 1] = row
      end
    end
  end
  return rows
end

H.run_async(function()
  H.stub_ui()
  H.setup()
  review = require("gpt_lsp.review")
  local bufnr, client = H.open("lenses.py", H.cfg.source)
  local before = H.text(bufnr)
  H.keys(":3,4GptAction refactor<CR>", true)
  local job = H.wait_job(1)
  H.wait(10000, function() return H.text(bufnr) ~= before end, "streaming to start")
  local samples = {}
  while job.status == "running" and #samples < 500 do
    local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
    samples[#samples + 1] = {
      lenses = lenses_drawn(bufnr, client.id),
      highlighted = highlighted(bufnr),
      lines = lines,
    }
    H.pause(30)
  end
  H.result.samples = samples
  H.result.status = job.status
  H.wait(5000, function() return #lenses_drawn(bufnr, client.id) == 2 end, "the pending lenses")
  H.result.pending = { lenses = lenses_drawn(bufnr, client.id), highlighted = highlighted(bufnr) }
end, 40000)
