SELECT 'unterminated; string
