;;; refactor.el --- batch Emacs + eglot: AI code action, chat and actions through gpt-lsp.el  -*- lexical-binding: t; -*-
;; Run: emacs --batch -Q -l refactor.el CONFIG.json ; pytest reads the JSON result it writes.
;; The shim keeps no jobs: this test notes them from gptLsp/jobFinished itself, and records
;; what the shim sends with executeCommand and what the server answers.

(load (expand-file-name "harness.el" (file-name-directory load-file-name)) nil t t)

(condition-case err
    (progn
      (setq gpt-lsp-command (cfg 'cmd)
            gpt-lsp-settings (cfg 'settings)
            gpt-lsp-modes '(python-mode)
            eglot-sync-connect t
            eglot-autoshutdown t)
      (gpt-lsp-register)
      (find-file (expand-file-name "app.py" (cfg 'workdir)))
      (insert (cfg 'source))
      (save-buffer)
      (python-mode)
      ;; The contact comes from eglot-server-programs, i.e. from gpt-lsp-register.
      (apply #'eglot (eglot--guess-contact))
      (test-wait-until 15 "the server" (lambda () (eglot-current-server)))
      (test-record 'class (symbol-name (eieio-object-class (eglot-current-server))))
      ;; 1. Pick the action eglot's own menu offers, as a user would; a key event as the last
      ;; event makes eglot ask with completing-read instead of a (batch-less) popup menu.
      (let* ((last-nonmenu-event ?a)
             (beg (progn (goto-char (point-min)) (search-forward (cfg 'func)) (match-beginning 0)))
             (end (match-end 0)))
        (cl-letf (((symbol-function 'completing-read)
                   (lambda (_prompt items &rest _)
                     (test-record 'offered (mapcar #'car items))
                     "AI: Refactor")))
          (eglot-code-actions beg end nil t)))
      (let ((changes 0) (last (test-text)))
        (test-wait-until 20 "gptLsp/jobFinished"
                         (lambda ()
                           (unless (equal last (test-text))
                             (setq changes (1+ changes) last (test-text)))
                           test-finished))
        (test-record 'changes changes))
      (let ((refactor (test-wait-job 1)))
        (test-record 'job (plist-get refactor :jobId))
        (test-record 'status (plist-get refactor :status))
        (test-record 'summary (plist-get refactor :summary))
        (test-record 'summary_seen (test-last-message)))
      (test-record 'final (test-text))
      ;; Reject with point inside the job's region: the original comes back.
      (goto-char (point-min))
      (search-forward "return a + b")
      (gpt-lsp-reject)
      (test-record 'reject (test-wait-command "gptLsp.reject"))
      (test-wait-until 10 "the original back" (lambda () (equal (test-text) (cfg 'source))))
      (test-record 'rejected (test-text))

      ;; 2. Chat on the last line; accept with point on line 1, outside its region: the
      ;; buffer's most recent job. Then a reject inside the region finds nothing left.
      (test-goto (cfg 'chat_line))
      (gpt-lsp-chat (line-beginning-position) (line-beginning-position 2) (cfg 'instruction))
      (test-record 'chat_status (plist-get (test-wait-job 2) :status))
      (test-record 'chatted (test-text))
      (test-goto 1)
      (gpt-lsp-accept)
      (test-record 'accept (test-wait-command "gptLsp.accept"))
      (test-goto (cfg 'chat_line))
      (gpt-lsp-reject)
      (test-record 'reject_again (test-wait-command "gptLsp.reject"))
      (test-record 'reject_again_message (test-last-message))
      (test-record 'after_accept (test-text))

      ;; 3. M-x gpt-lsp-action on the chat line (selected: it is outside any definition),
      ;; picked by title from the server's list; a cancel with point on line 1 stops it (the
      ;; buffer's most recent running job).
      (transient-mark-mode 1)
      (test-goto (cfg 'chat_line))
      (push-mark (point) t t)
      (forward-line 1)
      (let ((before (test-text)))
        (cl-letf (((symbol-function 'completing-read)
                   (lambda (_prompt items &rest _)
                     (test-record 'action_titles (mapcar #'car items))
                     "AI: Refactor")))
          (call-interactively #'gpt-lsp-action))
        (test-record 'action_run (test-wait-command "gptLsp.run"))
        (test-wait-until 10 "streaming to start" (lambda () (not (equal (test-text) before))))
        (test-goto 1)
        (gpt-lsp-cancel)
        (test-record 'cancel (test-wait-command "gptLsp.cancel"))
        (let ((cancelled (test-wait-job 3)))
          (test-record 'cancel_status (plist-get cancelled :status))
          (test-record 'cancel_summary (plist-get cancelled :summary))
          (test-record 'cancel_seen (test-last-message)))
        (test-wait-until 10 "the text from before" (lambda () (equal (test-text) before)))
        (test-record 'after_cancel (test-text)))

      ;; 4. M-x gpt-lsp-select-model: completing-read over the relay's models, one picked.
      (cl-letf (((symbol-function 'completing-read)
                 (lambda (prompt items &rest _)
                   (test-record 'model_prompt prompt)
                   (test-record 'model_items items)
                   "claude-3-opus-20240229")))
        (call-interactively #'gpt-lsp-select-model))
      (test-record 'select_model (test-wait-command "gptLsp.selectModel"))
      ;; 5. M-x gpt-lsp-status: relays and model, jobs, today's and this month's spend.
      (test-record 'status_message (call-interactively #'gpt-lsp-status))
      (setcdr (assq 'ok result) t))
  (error (test-record 'error (error-message-string err))))
(test-finish)
(kill-emacs 0)
