;;; refactor.el --- batch Emacs + eglot: the AI: Refactor code action streams in  -*- lexical-binding: t; -*-
;; Run: emacs --batch -Q -l refactor.el CONFIG.json ; pytest reads the JSON result it writes.

(dolist (dir (directory-files "/usr/share/emacs/site-lisp/elpa" t "^[a-z]"))
  (add-to-list 'load-path dir))
(require 'json)
(defvar cfg (let ((json-object-type 'alist) (json-array-type 'list))
              (json-read-file (pop command-line-args-left))))
(defun cfg (key) (alist-get key cfg))
(add-to-list 'load-path (cfg 'shim_dir))
(require 'gpt-lsp)

(defvar result (list (cons 'ok :json-false)))
(defun test-record (key value) (push (cons key value) result))
(defun test-finish ()
  "Write the result file: the OK marker pytest checks, never the exit code."
  (let ((server (ignore-errors (eglot-current-server))))
    (when server (ignore-errors (eglot-shutdown server))))
  (with-temp-file (cfg 'out)
    (insert (json-encode result))))

(defun test-wait-until (seconds what pred)
  "Poll PRED, flushing didChange every 0.5 s as an idle Emacs would (batch is never idle)."
  (let ((deadline (+ (float-time) seconds)) (flushed (float-time)))
    (while (not (funcall pred))
      (when (> (float-time) deadline) (error "Timed out after %ss waiting for %s" seconds what))
      (when (> (- (float-time) flushed) 0.5)
        (eglot--signal-textDocument/didChange)
        (setq flushed (float-time)))
      (accept-process-output nil 0.02))))

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
      ;; Pick the action eglot's own menu offers, as a user would; a key event as the last
      ;; event makes eglot ask with completing-read instead of a (batch-less) popup menu.
      (let* ((last-nonmenu-event ?a)
             (beg (progn (goto-char (point-min)) (search-forward (cfg 'func)) (match-beginning 0)))
             (end (match-end 0)))
        (cl-letf (((symbol-function 'completing-read)
                   (lambda (_prompt items &rest _)
                     (test-record 'offered (mapcar #'car items))
                     "AI: Refactor")))
          (eglot-code-actions beg end nil t)))
      (test-record 'job gpt-lsp--last-job)
      (let ((changes 0) (last (buffer-string)))
        (test-wait-until 20 "gptLsp/jobFinished"
                    (lambda ()
                      (unless (equal last (buffer-string))
                        (setq changes (1+ changes) last (buffer-string)))
                      (member (gethash gpt-lsp--last-job gpt-lsp--job-status)
                              '("done" "failed" "cancelled" "conflict"))))
        (test-record 'changes changes))
      (test-record 'status (gethash gpt-lsp--last-job gpt-lsp--job-status))
      (test-record 'final (buffer-substring-no-properties (point-min) (point-max)))
      ;; Reject through the shim: the original comes back.
      (gpt-lsp-reject)
      (test-wait-until 10 "the original back"
                       (lambda () (and (equal (buffer-string) (cfg 'source))
                                       (equal (gethash gpt-lsp--last-job gpt-lsp--job-status)
                                              "rejected"))))
      (test-record 'rejected (buffer-substring-no-properties (point-min) (point-max)))
      (setcdr (assq 'ok result) t))
  (error (test-record 'error (error-message-string err))))
(test-finish)
(kill-emacs 0)
