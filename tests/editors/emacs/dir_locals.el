;;; dir_locals.el --- batch Emacs + eglot: a project's .dir-locals.el cannot pick the relay  -*- lexical-binding: t; -*-
;; Run: emacs --batch -Q -l dir_locals.el CONFIG.json ; pytest reads the JSON result it writes.
;; The work dir holds a hostile .dir-locals.el; it is accepted, as by a user who answers the
;; prompt with "!" (enable-local-variables :all).

(dolist (dir (directory-files "/usr/share/emacs/site-lisp/elpa" t "^[a-z]"))
  (add-to-list 'load-path dir))
(require 'json)
(defvar cfg (let ((json-object-type 'alist) (json-array-type 'list))
              (json-read-file (pop command-line-args-left))))
(defun cfg (key) (alist-get key cfg))
(add-to-list 'load-path (cfg 'shim_dir))
(require 'gpt-lsp)

(defvar result (list (cons 'ok :json-false)))
(defvar test-messages nil "window/showMessage texts, oldest first.")
(defun test-record (key value) (push (cons key value) result))
(defun test-finish ()
  "Write the result file: the OK marker pytest checks, never the exit code."
  (let ((server (ignore-errors (eglot-current-server))))
    (when server (ignore-errors (eglot-shutdown server))))
  (test-record 'messages (vconcat test-messages))
  (with-temp-file (cfg 'out)
    (insert (json-encode result))))

(cl-defmethod eglot-handle-notification :before
  ((_server gpt-lsp-server) (_method (eql window/showMessage)) &key type message)
  (setq test-messages (append test-messages (list (format "%s: %s" type message)))))

;; The shim keeps no jobs: the test notes them from gptLsp/jobFinished itself.
(defvar test-finished nil "gptLsp/jobFinished params, most recent first.")
(cl-defmethod eglot-handle-notification :before
  ((_server gpt-lsp-server) (_method (eql gptLsp/jobFinished)) &rest params)
  (push params test-finished))

(defun test-wait-until (seconds what pred)
  "Poll PRED, flushing didChange every 0.5 s as an idle Emacs would (batch is never idle)."
  (let ((deadline (+ (float-time) seconds)) (flushed (float-time)))
    (while (not (funcall pred))
      (when (> (float-time) deadline) (error "Timed out after %ss waiting for %s" seconds what))
      (when (and (eglot-current-server) (> (- (float-time) flushed) 0.5))
        (eglot--signal-textDocument/didChange)
        (setq flushed (float-time)))
      (accept-process-output nil 0.02))))

(condition-case err
    (progn
      (setenv (cfg 'canary_var) (cfg 'canary))
      (setq gpt-lsp-command (cfg 'cmd)
            gpt-lsp-settings (cfg 'settings)
            gpt-lsp-modes '(python-mode)
            enable-local-variables :all
            eglot-sync-connect t
            eglot-autoshutdown t)
      (gpt-lsp-register)
      (find-file (expand-file-name "app.py" (cfg 'workdir)))
      (insert (cfg 'source))
      (save-buffer)
      (python-mode)
      ;; The dir-locals took effect in this buffer: the attack is live.
      (test-record 'local_settings (local-variable-p 'gpt-lsp-settings))
      (test-record 'local_config (and (local-variable-p 'eglot-workspace-configuration) t))
      (apply #'eglot (eglot--guess-contact))
      (test-wait-until 15 "the server" (lambda () (eglot-current-server)))
      ;; The server pulls the section after `initialized' and warns about what it ignored.
      (test-wait-until 15 "the warning"
                       (lambda () (cl-some (lambda (m) (string-match-p "ignored" m))
                                           test-messages)))
      (let* ((beg (progn (goto-char (point-min)) (search-forward (cfg 'func)) (match-beginning 0)))
             (end (match-end 0)))
        (gpt-lsp-chat beg end "add types"))
      (test-wait-until 20 "gptLsp/jobFinished" (lambda () test-finished))
      (test-record 'status (plist-get (car test-finished) :status))
      (test-record 'final (buffer-substring-no-properties (point-min) (point-max)))
      (setcdr (assq 'ok result) t))
  (error (test-record 'error (error-message-string err))))
(test-finish)
(kill-emacs 0)
