;;; harness.el --- shared helpers of the batch Emacs tests  -*- lexical-binding: t; -*-
;; Loaded by each test script: reads the CONFIG.json named on the command line, records results.
;; The shim keeps no jobs: this test notes them from gptLsp/jobFinished itself, and records
;; what the shim sends with executeCommand and what the server answers.

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

(defvar test-finished nil "gptLsp/jobFinished params, most recent first.")
(cl-defmethod eglot-handle-notification :before
  ((_server gpt-lsp-server) (_method (eql gptLsp/jobFinished)) &rest params)
  (push params test-finished))

(defvar test-commands nil "(COMMAND ARGUMENT RESULT) the shim sent, most recent first.")
(advice-add 'gpt-lsp--exec :around
            (lambda (exec command argument &optional then)
              (let ((entry (list command argument 'waiting)))
                (push entry test-commands)
                (funcall exec command argument
                         (lambda (answer)
                           (setf (nth 2 entry) answer)
                           (when then (funcall then answer)))))))

(defun test-wait-job (count)
  "Wait for the COUNT-th gptLsp/jobFinished; return its params."
  (test-wait-until 20 "gptLsp/jobFinished" (lambda () (>= (length test-finished) count)))
  (nth (- (length test-finished) count) test-finished))

(defun test-wait-command (command)
  "Wait for the answer to the last COMMAND the shim sent; return (argument result)."
  (let ((entry (cl-find command test-commands :key #'car :test #'equal)))
    (unless entry (error "%s was never sent" command))
    (test-wait-until 10 (format "the answer to %s" command)
                     (lambda () (not (eq (nth 2 entry) 'waiting))))
    (list (cons 'argument (nth 1 entry)) (cons 'result (nth 2 entry)))))

(defun test-last-message ()
  "The last line of *Messages*: what the user saw last in the echo area."
  (with-current-buffer (messages-buffer)
    (goto-char (point-max))
    (skip-chars-backward "\n")
    (buffer-substring-no-properties (line-beginning-position) (point))))

(defun test-text () (buffer-substring-no-properties (point-min) (point-max)))

(defun test-goto (line)
  "Point at the start of LINE (1-based)."
  (goto-char (point-min))
  (forward-line (1- line)))

