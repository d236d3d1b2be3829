;;; review.el --- batch Emacs + eglot: a pending AI edit, one undo, code actions at point  -*- lexical-binding: t; -*-
;; Run: emacs --batch -Q -l review.el CONFIG.json ; pytest reads the JSON result it writes.
;; A timer puts undo boundaries in while jobs stream, as Emacs' command loop and its 10 s
;; boundary timer do for a user: one `undo' must still take the whole job back.

(load (expand-file-name "harness.el" (file-name-directory load-file-name)) nil t t)

(defun test-review-overlay ()
  "The overlay of the job under review in this buffer, or nil."
  (cl-find-if (lambda (ov) (overlay-get ov 'gpt-lsp-job)) (overlays-in (point-min) (point-max))))

(defun test-offered-at (pos)
  "The titles of the code actions eglot offers at POS (a bare cursor)."
  (let ((last-nonmenu-event ?a))
    (catch 'offered
      (cl-letf (((symbol-function 'completing-read)
                 (lambda (_prompt items &rest _) (throw 'offered (mapcar #'car items)))))
        (eglot-code-actions pos pos nil t)
        nil))))

(defun test-run-action-at (pos title)
  "Run the code action TITLE at POS through eglot's menu."
  (let ((last-nonmenu-event ?a))
    (cl-letf (((symbol-function 'completing-read) (lambda (&rest _) title)))
      (eglot-code-actions pos pos nil t))))

(condition-case err
    (progn
      (setq gpt-lsp-command (cfg 'cmd)
            gpt-lsp-settings (cfg 'settings)
            gpt-lsp-modes '(python-mode)
            eglot-sync-connect t
            eglot-autoshutdown t)
      (gpt-lsp-register)
      (find-file (expand-file-name "review.py" (cfg 'workdir)))
      (insert (cfg 'source))
      (save-buffer)
      (buffer-enable-undo)
      (python-mode)
      (apply #'eglot (eglot--guess-contact))
      (test-wait-until 15 "the server" (lambda () (eglot-current-server)))
      (let ((boundaries (run-with-timer 0.05 0.05 (lambda () (undo-boundary)))))
        ;; 1. A refactor streams in and stays pending: the original above, the new text marked.
        (let ((beg (progn (goto-char (point-min)) (search-forward (cfg 'func)) (match-beginning 0))))
          (gpt-lsp-action beg (match-end 0) "refactor")
          (test-wait-job 1)
          ;; The pending review comes after jobFinished: until then the overlay is the last
          ;; one drawn while it streamed, which may not cover the last edits yet.
          (let ((ov (test-wait-overlay "pending")))
            (test-record 'pending_text (test-text))
            (test-record 'before_string (substring-no-properties (overlay-get ov 'before-string)))
            (test-record 'face (symbol-name (overlay-get ov 'face)))
            (test-record 'region (buffer-substring-no-properties (overlay-start ov) (overlay-end ov)))
            (test-record 'keys (key-description (where-is-internal #'gpt-lsp-reject (overlay-get ov 'keymap) t)))
            (test-record 'offered (test-offered-at (+ (overlay-start ov) 4)))))
        ;; 2. One undo: the original, and the server ends the job (the overlay goes).
        (setq last-command nil)
        (undo)
        (test-record 'after_undo (test-text))
        (test-wait-until 10 "the overlay gone after the undo" (lambda () (not (test-review-overlay))))
        ;; 3. Again, refined with M-x gpt-lsp-chat at point inside it (no region); then
        ;; "AI: Reject edit" from eglot's code actions at point: the text from before both.
        (let ((beg (progn (goto-char (point-min)) (search-forward (cfg 'func)) (match-beginning 0))))
          (gpt-lsp-action beg (match-end 0) "refactor")
          (test-wait-job 2)
          (goto-char (+ (overlay-start (test-wait-overlay "pending")) 4))
          (deactivate-mark)
          (cl-letf (((symbol-function 'read-string)
                     (lambda (prompt &rest _) (test-record 'refine_prompt prompt) (cfg 'instruction))))
            (call-interactively #'gpt-lsp-chat))
          (test-record 'refine (test-wait-command "gptLsp.chat"))
          (test-wait-job 3)
          (test-wait-until 10 "the refined text" (lambda () (equal (test-text) (cfg 'refined))))
          (test-run-action-at (+ (overlay-start (test-wait-overlay "pending")) 4) "AI: Reject edit")
          (test-wait-until 10 "the original after the reject" (lambda () (equal (test-text) (cfg 'source))))
          (test-wait-until 10 "the overlay gone after the reject" (lambda () (not (test-review-overlay))))
          (test-record 'rejected (test-text)))
        (cancel-timer boundaries))
      (setcdr (assq 'ok result) t))
  (error (test-record 'error (error-message-string err))))
(test-finish)
(kill-emacs 0)
