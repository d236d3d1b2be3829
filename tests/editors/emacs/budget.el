;;; budget.el --- batch Emacs + eglot: a budget in `gpt-lsp-settings' is the user's  -*- lexical-binding: t; -*-
;; Run: emacs --batch -Q -l budget.el CONFIG.json ; pytest reads the JSON result it writes.
;; The budget travels as initializationOptions only (the gptLsp section the shim answers leaves
;; it out, so the server has no project value to ignore and warn about), and it holds: once
;; today's spend reaches the cap, the next job is refused before anything is sent.

(load (expand-file-name "harness.el" (file-name-directory load-file-name)) nil t t)

(defun budget-refactor (text)
  "M-x gpt-lsp-action refactor on TEXT (the function)."
  (goto-char (point-min))
  (search-forward text)
  (gpt-lsp-action (match-beginning 0) (match-end 0) "refactor"))

(condition-case err
    (progn
      (test-open "app.py")
      (test-record 'section (gpt-lsp--section-settings))
      (budget-refactor (cfg 'func))
      (test-record 'first (plist-get (test-wait-job 1) :status))
      (gpt-lsp-accept)
      (test-wait-command "gptLsp.accept")
      (budget-refactor (cfg 'new_func))
      ;; The refusal is the command's error, which the shim shows as a message.
      (let (refused)
        (test-wait-until 10 "the refusal"
                         (lambda ()
                           (setq refused (cl-find-if (lambda (m) (string-match-p "gptLsp.run failed" (car m)))
                                                     test-messages))))
        (test-record 'refused (car refused)))
      (test-record 'started (length test-finished))
      (test-record 'messages (vconcat (reverse (mapcar #'car test-messages))))
      (setcdr (assq 'ok result) t))
  (error (test-record 'error (error-message-string err))))
(test-finish)
(kill-emacs 0)
