;;; completion.el --- batch Emacs + eglot: the AI suggestion as a completion-at-point candidate  -*- lexical-binding: t; -*-
;; Run: emacs --batch -Q -l completion.el CONFIG.json ; pytest reads the JSON result it writes.
;; eglot 1.9 has no inline completion: with completion.enabled the server answers
;; textDocument/completion with one `AI: ...' item whose textEdit inserts the suggestion.

(load (expand-file-name "harness.el" (file-name-directory load-file-name)) nil t t)

(condition-case err
    (progn
      (setq gpt-lsp-command (cfg 'cmd)
            gpt-lsp-settings (cfg 'settings)
            gpt-lsp-modes '(python-mode)
            eglot-sync-connect t
            eglot-autoshutdown t)
      (gpt-lsp-register)
      (find-file (expand-file-name "complete.py" (cfg 'workdir)))
      (insert (cfg 'source))
      (save-buffer)
      (python-mode)
      (apply #'eglot (eglot--guess-contact))
      (test-wait-until 15 "the server" (lambda () (eglot-current-server)))
      (goto-char (point-min))
      (search-forward (cfg 'before_cursor))
      (let* ((capf (eglot-completion-at-point))
             (table (nth 2 capf))
             (candidates (all-completions "" table)))
        (test-record 'candidates candidates)
        (let ((ai (cl-find-if (lambda (c) (string-prefix-p "AI: " c)) candidates)))
          (unless ai (error "No AI candidate among %S" candidates))
          ;; Accept it as completion-at-point does: insert, then eglot's exit function applies
          ;; the item's textEdit.
          (insert ai)
          (funcall (plist-get (nthcdr 3 capf) :exit-function) ai 'finished)))
      (test-record 'final (test-text))
      (setcdr (assq 'ok result) t))
  (error (test-record 'error (error-message-string err))))
(test-finish)
(kill-emacs 0)
