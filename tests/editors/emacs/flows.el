;;; flows.el --- batch Emacs + eglot: the flow matrix of issue 18, one flow per run  -*- lexical-binding: t; -*-
;; Run: emacs --batch -Q -l flows.el CONFIG.json ; pytest reads the JSON result it writes.
;; Each flow drives Emacs as a user does: keys through the command loop (the shim's commands,
;; eglot-code-actions, C-_, typing), transient-mark-mode on, didChange sent every 0.5 s as an
;; idle Emacs sends it.  What the server decided comes from its gptLsp/review notifications.

(load (expand-file-name "harness.el" (file-name-directory load-file-name)) nil t t)

(defun flow-find (text)
  "The bounds (BEG . END) of TEXT in the buffer."
  (save-excursion
    (goto-char (point-min))
    (unless (search-forward text nil t) (error "%S is not in the buffer" text))
    (cons (match-beginning 0) (match-end 0))))

(defun flow-select-function ()
  "Select the function (cfg func) as a user does."
  (let ((bounds (flow-find (cfg 'func))))
    (test-select (car bounds) (cdr bounds))))

(defun flow-cursor-on-code ()
  "Point on the word `result' of `result = result + item' (code, not whitespace)."
  (goto-char (+ (car (flow-find "result = result + item")) 2)))

(defun flow-job ()
  "The id of the job last started (its first review notification)."
  (test-wait-until 20 "a job's review" (lambda () test-reviews))
  (plist-get (car (last test-reviews)) :jobId))

(defun flow-undo-and-end (job)
  "One undo; record the text and how the server ended JOB."
  (test-undo)
  (test-record 'after_undo (test-text))
  (let ((ended (test-wait-review job "ended")))
    (test-record 'outcome (plist-get ended :outcome)))
  (test-record 'final (test-text)))

(defun flow-explain ()
  "AI: Explain on the function: the notes open beside it, served by the same server."
  (let ((source (current-buffer)) (server (eglot-current-server)))
    (flow-select-function)
    (test-command #'eglot-code-actions "AI: Explain")
    (let* ((finished (test-wait-job 1))
           (uri (plist-get finished :notesUri))
           (notes (and uri (find-buffer-visiting (eglot--uri-to-path uri)))))
      (test-record 'status (plist-get finished :status))
      (test-record 'finished_text (plist-get finished :text))
      (test-record 'notes_uri uri)
      (when notes
        (with-current-buffer notes
          (test-wait-until 10 "the answer in the notes"
                           (lambda () (string-search (cfg 'answer) (test-text))))
          (test-record 'notes_text (test-text))
          (test-record 'notes_managed (and eglot--managed-mode t))
          (test-record 'notes_same_server (eq (eglot-current-server) server)))
        (test-record 'notes_shown (and (get-buffer-window notes) t))
        (test-record 'source_window_selected (eq (window-buffer (selected-window)) source)))
      (test-record 'servers (length (test-servers)))
      (test-record 'echo (test-echo))
      (with-current-buffer source (test-record 'source_text (test-text))))))

(defun flow-typing ()
  "A refactor streams; the user types a line above it and one below; then one undo."
  (flow-select-function)
  (test-command #'eglot-code-actions "AI: Refactor")
  (let ((job (flow-job)))
    (test-wait-until 10 "the answer to start" (lambda () (not (equal (test-text) (cfg 'source)))))
    (test-keys "M-< C-n x SPC = SPC 0")
    (test-keys "M-> y SPC = SPC 1 RET")
    (test-record 'typed_while_running (null test-finished))
    (test-wait-review job "pending")
    (test-record 'pending_text (test-text))
    (flow-undo-and-end job)
    (test-record 'eglot_messages
                 (vconcat (mapcar #'car (cl-remove-if-not (lambda (m) (string-match-p "Edit successful\\|applying" (car m)))
                                   test-messages))))))

(defun flow-region ()
  "M-x gpt-lsp-chat on an active region; then one undo."
  (flow-select-function)
  (test-command #'gpt-lsp-chat (cfg 'instruction))
  (let ((job (flow-job)))
    (test-wait-review job "pending")
    (test-record 'pending_text (test-text))
    (test-record 'region_active (region-active-p))
    (flow-undo-and-end job)))

(defun flow-follow-up ()
  "A job on the region, a follow-up turn at point inside it; then one undo."
  (flow-select-function)
  (test-command #'gpt-lsp-chat (cfg 'instruction))
  (let ((job (flow-job)))
    (test-wait-review job "pending")
    (test-record 'first_text (test-text))
    (goto-char (+ (overlay-start (test-wait-overlay "pending")) 4))
    (test-command #'gpt-lsp-chat (cfg 'follow_up))
    (test-record 'follow_up_prompt (car test-asked))
    (test-wait-until 20 "the follow-up pending"
                     (lambda () (cl-find-if (lambda (p) (and (equal (plist-get p :status) "pending")
                                                             (equal (plist-get p :turn) 2)))
                                            test-reviews)))
    (test-record 'pending_text (test-text))
    (flow-undo-and-end job)))

(defun flow-bare-cursor ()
  "Code actions at a bare cursor on code, then M-x gpt-lsp-action there."
  (flow-cursor-on-code)
  (test-command #'eglot-code-actions "AI: Refactor total")
  (test-record 'offered (car test-offered))
  (let ((job (flow-job)))
    (test-wait-review job "pending")
    (test-record 'pending_text (test-text))
    (goto-char (+ (overlay-start (test-wait-overlay "pending")) 4))
    (test-keys "C-c C-k")  ; reject, with point inside it
    (test-wait-review job "ended")
    (test-wait-until 10 "the original back" (lambda () (equal (test-text) (cfg 'source))))
    (setq test-reviews nil)
    (flow-cursor-on-code)
    (test-command #'gpt-lsp-action "AI: Refactor")
    (test-record 'action_run (test-wait-command "gptLsp.run"))
    (let ((job (flow-job)))
      (test-wait-review job "pending")
      (test-record 'action_text (test-text)))))

(defun flow-failed ()
  "A job the relay refuses: the reason stays in the echo area."
  (flow-select-function)
  (test-command #'gpt-lsp-chat (cfg 'instruction))
  (let ((finished (test-wait-job 1)))
    (test-record 'status (plist-get finished :status))
    (test-record 'summary (plist-get finished :summary))
    (test-record 'reason (plist-get finished :message)))
  (test-flush)
  (test-record 'echo (test-echo))
  (test-record 'final (test-text)))

(defun flow-chinese ()
  "The shim's own prompts and the status lines, with the UI language Chinese."
  (flow-select-function)
  (test-command #'gpt-lsp-chat (cfg 'instruction))
  (test-record 'chat_prompt (car test-asked))
  (let ((job (flow-job)))
    (test-wait-review job "pending")
    (goto-char (+ (overlay-start (test-wait-overlay "pending")) 4))
    (test-command #'gpt-lsp-chat "")  ; an empty instruction sends nothing
    (test-record 'refine_prompt (car test-asked))
    (test-command #'gpt-lsp-action "")
    (test-record 'action_prompt (car test-asked))
    (test-command #'gpt-lsp-select-model "gpt-4")
    (test-record 'model_prompt (car test-asked))
    (test-record 'model_set (test-wait-command "gptLsp.selectModel"))
    (test-record 'model_echo (test-echo))
    (test-command #'gpt-lsp-status)
    (test-record 'status_echo (test-echo))
    (test-keys "C-c C-c")
    (test-wait-review job "ended")
    (test-command #'gpt-lsp-reject)
    (test-wait-command "gptLsp.reject")
    (test-record 'no_job_echo (test-echo))))

(condition-case err
    (progn
      (test-open (cfg 'file))
      (funcall (intern (format "flow-%s" (string-replace "_" "-" (cfg 'flow)))))
      (setcdr (assq 'ok result) t))
  (error (test-record 'error (error-message-string err))))
(test-record 'last_offered (vconcat (car test-offered)))
(test-record 'prompts (vconcat test-prompts))
(test-record 'messages (vconcat (reverse (mapcar #'car test-messages))))
(test-finish)
(kill-emacs 0)
